"""Cached reads: a read fetches once with its arguments and is then a near hit; absence is a 404."""

from __future__ import annotations

from typing import Any

import pytest

from etsygen_gateway.adapters.cache import ReadCache
from etsygen_gateway.errors import NotFoundError
from etsygen_gateway.service_layer.reads import CachedReads


def reads() -> CachedReads:
    # No Redis: the shared cache is bypassed, the per-process near cache still keeps what was read.
    return CachedReads(ReadCache(lambda: None, "t:", enabled=False, local_ttl_s=60), "jobs", 600)


async def test_a_miss_fetches_once_and_the_next_read_is_a_near_hit() -> None:
    calls: list[tuple[Any, ...]] = []

    async def fetch(pool: str, owner: str, *, limit: int) -> dict[str, Any]:
        calls.append((pool, owner, limit))
        return {"items": [], "limit": limit}

    cached = reads()
    assert cached.near("alice", "list:1") is None
    first = await cached.read("alice", "list:1", fetch, "pool", "alice", limit=1)
    assert cached.near("alice", "list:1") == first
    again = await cached.read("alice", "list:1", fetch, "pool", "alice", limit=1)
    assert first == again == b'{"items":[],"limit":1}'
    assert calls == [("pool", "alice", 1)]


async def test_nothing_found_is_a_404_with_the_given_detail_and_is_not_kept() -> None:
    calls = 0

    async def fetch() -> None:
        nonlocal calls
        calls += 1

    cached = reads()
    for _ in range(2):
        with pytest.raises(NotFoundError, match="no such job"):
            await cached.read("alice", "one:x", fetch, missing="no such job")
    assert calls == 2


async def test_invalidation_drops_the_owners_reads() -> None:
    values = iter([{"n": 1}, {"n": 2}])

    async def fetch() -> dict[str, int]:
        return next(values)

    cached = reads()
    assert await cached.read("bob", "one:y", fetch) == b'{"n":1}'
    await cached.invalidate("bob")
    assert await cached.read("bob", "one:y", fetch) == b'{"n":2}'
