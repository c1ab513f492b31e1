"""A client that exists only once the service started, handed out before it does.

Composition roots build consumers, caches and routes before ``start`` opens the Postgres pool or the Redis
client, so those parts hold a :class:`Late` instead and the start hook binds the real client into it. This is
the one way services bind a client late: no getters passed around, no attributes patched in a start hook.
"""

from __future__ import annotations

from typing import Any


class NotBoundError(RuntimeError):
    """A late-bound client was used before the service bound it (before start or after stop)."""


class Late:
    """Stands for a client (an asyncpg pool, a Redis client) bound once the service started.

    Attribute access goes to the bound client (``late.acquire()``, ``late.fetchval(...)``), so code that
    takes a pool takes a :class:`Late` as well; :meth:`get` is the client or None, for parts that treat a
    missing client as "not there yet" (the rate limiter and the read cache fail open).
    """

    __slots__ = ("_client", "_what")

    def __init__(self, what: str) -> None:
        self._what = what
        self._client: Any = None

    def bind(self, client: Any) -> None:
        """Use ``client`` from now on."""
        self._client = client

    def unbind(self) -> None:
        """Forget the client (it was closed)."""
        self._client = None

    def get(self) -> Any:
        """The bound client, or None."""
        return self._client

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            raise NotBoundError(f"the {self._what} is used before the service started")
        return getattr(client, name)

    def __repr__(self) -> str:
        return f"Late({self._what!r}, bound={self._client is not None})"
