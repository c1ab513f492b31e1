"""Cached reads: the one way a use case serves a read model from the read cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from etsygen_gateway.adapters.cache import ReadCache
from etsygen_gateway.errors import NotFoundError


class CachedReads:
    """Reads of one cache namespace (``trends``, ``products``, ``jobs``), kept for its lifetime."""

    __slots__ = ("_cache", "_namespace", "_ttl_s")

    def __init__(self, cache: ReadCache, namespace: str, ttl_s: int) -> None:
        self._cache = cache
        self._namespace = namespace
        self._ttl_s = ttl_s

    def near(self, owner: str, key: str) -> bytes | None:
        """What this process read for the owner's ``key`` moments ago, without I/O (else None).

        The hot path: callers try it before :meth:`read` (``reads.near(owner, key) or await
        reads.read(...)``), so a near hit builds no loader, packs no arguments and runs no coroutine.
        """
        return self._cache.near(self._namespace, owner, key)

    async def read(
        self,
        owner: str,
        key: str,
        fetch: Callable[..., Awaitable[object]],
        *args: Any,
        missing: str | None = None,
        **kwargs: Any,
    ) -> bytes:
        """The cached JSON of the owner's ``key``, else of ``fetch(*args, **kwargs)`` (then cached).

        With ``missing``, a fetch that finds nothing (None) is a 404 with that detail, and nothing is cached.

        Raises:
            NotFoundError: ``fetch`` returned None and ``missing`` was given.
        """

        async def load() -> object:
            found = await fetch(*args, **kwargs)
            if found is None and missing is not None:
                raise NotFoundError(missing)
            return found

        return await self._cache.get_or_set(self._namespace, owner, key, self._ttl_s, load)

    async def invalidate(self, owner: str) -> None:
        """Drop every cached read of ``owner`` in this namespace."""
        await self._cache.invalidate(self._namespace, owner)
