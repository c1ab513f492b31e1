"""A late-bound client: refused with a clear error before it is bound, the client itself afterwards."""

from __future__ import annotations

import pytest

from etsygen_common.late import Late, NotBoundError


class FakePool:
    def acquire(self) -> str:
        return "connection"


def test_before_binding_the_client_is_missing_and_named() -> None:
    pool = Late("Postgres pool")
    assert pool.get() is None
    with pytest.raises(NotBoundError, match="Postgres pool"):
        pool.acquire()


def test_once_bound_attributes_are_the_clients() -> None:
    pool = Late("Postgres pool")
    client = FakePool()
    pool.bind(client)
    assert pool.get() is client
    assert pool.acquire() == "connection"
    pool.unbind()
    assert pool.get() is None
