"""Read-model cache in Redis: get-or-set with single-flight, early refresh (XFetch) and tag invalidation.

Layout, per namespace (``trends``, ``products``, ``jobs``) and owner, all in one Redis Cluster hash slot:

* ``c:{ns:owner}:<key>``: a msgpack ``_Entry`` (the JSON bytes served, how long computing them took, when
  they expire);
* ``c:{ns:owner}:#keys``: the set of value keys, deleted together by :meth:`ReadCache.invalidate`;
* ``c:{ns:owner}:#epoch``: bumped by every invalidation. A recomputation remembers the epoch it started
  under and its result is stored only if no invalidation happened meanwhile, so a slow reader can never put
  data older than the invalidating event back into the cache;
* ``c:{ns:owner}:<key>:#lock``: held by the one process recomputing a missing key.

Single-flight has two levels: inside a process, concurrent callers of one key await the same future; across
processes, the Redis lock elects one leader and the others poll (with a deadline) for the value it stores.

Early refresh is XFetch (Vattani, Chierichetti, Lowenstein, VLDB 2015): a reader recomputes ahead of expiry
with probability rising as expiry nears, scaled by how long the value takes to compute, so a hot key is
refreshed once by one reader instead of expiring under load. Others keep getting the current value.

Near cache: with ``local_ttl_s`` > 0 each process also keeps what it read for that long (a hot key then
costs no Redis round trip). Invalidation drops it at once in the process that invalidates, and every other
process drops it when the projection's NOTIFY reaches it (``adapters.live``), so it is stale for
milliseconds, or at most ``local_ttl_s`` while a process has lost its listening connection.

Redis unreachable: the cache is bypassed (computed from Postgres every time, still single-flighted per
process) and counted as ``bypass``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from etsygen_common.logging import get_logger
from etsygen_gateway.metrics import (
    CACHE_INVALIDATIONS,
    CACHE_RECOMPUTES,
    CACHE_REQUESTS,
    LOCAL_ENTRIES,
    SERVICE,
    child,
)

log = get_logger(__name__)

Loader = Callable[[], Awaitable[Any]]

_ACQUIRE_LUA: Final = """
local got = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local epoch = redis.call('GET', KEYS[2]) or '0'
if got then return {1, epoch} end
return {0, epoch}
"""
_STORE_LUA: Final = """
local epoch = redis.call('GET', KEYS[3]) or '0'
local stored = 0
if epoch == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SADD', KEYS[2], KEYS[1])
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
  stored = 1
end
if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
return stored
"""
_RELEASE_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_INVALIDATE_LUA: Final = """
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
local members = redis.call('SMEMBERS', KEYS[1])
for i = 1, #members, 500 do
  redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
end
redis.call('DEL', KEYS[1])
return #members
"""
_EPOCH_TTL_MS: Final = 7 * 24 * 3600 * 1000
_MAX_WAIT_POLL_S: Final = 0.05
_ATTEMPTS: Final = 3
_LOCAL_MAX: Final = 20_000


class _Entry(msgspec.Struct, array_like=True, frozen=True):
    data: bytes
    delta: float
    expires_at: float


_entry_encoder = msgspec.msgpack.Encoder()
_entry_decoder = msgspec.msgpack.Decoder(_Entry)
_json = msgspec.json.Encoder()


class ReadCache:
    """Caches the JSON bytes of read-model responses per owner."""

    def __init__(
        self,
        redis: Callable[[], Any],
        key_prefix: str,
        *,
        enabled: bool = True,
        beta: float = 1.0,
        lock_ttl_ms: int = 5000,
        local_ttl_s: float = 0.0,
    ) -> None:
        """Create a cache.

        Args:
            redis: returns the asyncio Redis client (it exists once the service started).
            key_prefix: the deployment's ``REDIS_KEY_PREFIX``.
            enabled: when False every read goes to Postgres (counted as ``bypass``).
            beta: XFetch aggressiveness; 0 turns early refresh off.
            lock_ttl_ms: longest a recomputation may hold its lock before others take over.
            local_ttl_s: lifetime of the per-process near cache; 0 turns it off.
        """
        self._redis = redis
        self._prefix = f"{key_prefix}c:"
        self._enabled = enabled
        self._beta = beta
        self._lock_ttl_ms = lock_ttl_ms
        self._flights: dict[str, asyncio.Future[bytes]] = {}
        self._scripts: dict[str, Any] = {}
        self._local_ttl = local_ttl_s
        self._local: dict[str, dict[str, tuple[float, bytes]]] = {}
        self._local_size = 0
        self._local_hits: dict[str, Any] = {}
        LOCAL_ENTRIES.watch(self)

    def _client(self) -> Any:
        client = self._redis()
        if client is None:
            raise RedisConnectionError("the Redis client is not started")
        return client

    def _script(self, source: str) -> Any:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self._client().register_script(source)
        return script

    def _base(self, namespace: str, owner: str) -> str:
        return f"{self._prefix}{{{namespace}:{owner}}}:"

    def near(self, namespace: str, owner: str, key: str) -> bytes | None:
        """What this process read for ``key`` in the last ``local_ttl_s`` seconds (counted as a local hit),
        without I/O; None means :meth:`get_or_set` has to look further."""
        entries = self._local.get(f"{self._prefix}{{{namespace}:{owner}}}:")  # self._base(), inlined
        found = entries.get(key) if entries is not None else None
        if found is None or found[0] <= time.monotonic():
            return None
        hits = self._local_hits.get(namespace)
        if hits is None:
            hits = self._local_hits[namespace] = CACHE_REQUESTS.labels(SERVICE, namespace, "local_hit")
        hits.inc()
        return found[1]

    async def get_or_set(self, namespace: str, owner: str, key: str, ttl_s: int, loader: Loader) -> bytes:
        """The cached JSON of ``key``, computed by ``loader`` (a msgspec-encodable value) when needed."""
        base = self._base(namespace, owner)
        if self._local_ttl > 0:
            near = self.near(namespace, owner, key)
            if near is not None:
                return near
            data = await self._shared(namespace, base, base + key, ttl_s, loader)
            self._keep(base, key, data)
            return data
        return await self._shared(namespace, base, base + key, ttl_s, loader)

    def _keep(self, base: str, key: str, data: bytes) -> None:
        if self._local_size >= _LOCAL_MAX:
            self._local.clear()
            self._local_size = 0
        self._local.setdefault(base, {})[key] = (time.monotonic() + self._local_ttl, data)
        self._local_size += 1

    def local_entries(self) -> dict[str, int]:
        """Entries of the near cache by namespace (expired ones count until they are dropped)."""
        counts: dict[str, int] = {}
        for base, entries in list(self._local.items()):
            namespace = base[len(self._prefix) + 1 :].split(":", 1)[0]  # "<prefix>{<namespace>:<owner>}:"
            counts[namespace] = counts.get(namespace, 0) + len(entries)
        return counts

    def drop_local(self, namespace: str, owner: str) -> None:
        """Forget this process's near-cache entries of ``owner`` in ``namespace``."""
        dropped = self._local.pop(self._base(namespace, owner), None)
        if dropped:
            self._local_size -= len(dropped)

    async def _shared(self, namespace: str, base: str, value_key: str, ttl_s: int, loader: Loader) -> bytes:
        if not self._enabled:
            child(CACHE_REQUESTS, namespace, "bypass").inc()
            return await self._single_flight(value_key, lambda: self._compute(namespace, loader))
        try:
            raw = await self._client().get(value_key)
        except (RedisError, OSError) as exc:
            child(CACHE_REQUESTS, namespace, "bypass").inc()
            log.debug("cache bypassed: Redis unreachable", extra={"error": repr(exc)})
            return await self._single_flight(value_key, lambda: self._compute(namespace, loader))
        if raw is not None:
            entry = _entry_decoder.decode(raw)
            if not self._refresh_early(entry):
                child(CACHE_REQUESTS, namespace, "hit").inc()
                return entry.data
            child(CACHE_REQUESTS, namespace, "early_refresh").inc()
            fresh = await self._refresh(namespace, base, value_key, ttl_s, loader)
            return entry.data if fresh is None else fresh
        child(CACHE_REQUESTS, namespace, "miss").inc()
        return await self._single_flight(
            value_key, lambda: self._fill(namespace, base, value_key, ttl_s, loader)
        )

    async def invalidate(self, namespace: str, owner: str) -> None:
        """Drop every cached value of ``owner`` in ``namespace`` (best effort: TTLs bound staleness)."""
        self.drop_local(namespace, owner)
        base = self._base(namespace, owner)
        try:
            await self._script(_INVALIDATE_LUA)(keys=[base + "#keys", base + "#epoch"], args=[_EPOCH_TTL_MS])
        except (RedisError, OSError) as exc:
            log.warning("cache invalidation failed", extra={"cache": namespace, "error": repr(exc)})
            return
        child(CACHE_INVALIDATIONS, namespace).inc()

    def _refresh_early(self, entry: _Entry) -> bool:
        if self._beta <= 0:
            return False
        # XFetch: recompute when now - delta * beta * ln(U) >= expiry, U ~ (0, 1].
        draw = 1.0 - random.random()
        return time.time() - entry.delta * self._beta * math.log(draw) >= entry.expires_at

    async def _single_flight(self, key: str, work: Callable[[], Awaitable[bytes]]) -> bytes:
        # The work runs in its own task: a caller that goes away (client disconnect) does not cancel it
        # for the others waiting on the same key.
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(work())
            self._flights[key] = flight
            flight.add_done_callback(functools.partial(self._landed, key))
        return await asyncio.shield(flight)

    def _landed(self, key: str, flight: asyncio.Future[bytes]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # retrieved here so an unawaited failure is not reported as lost

    async def _compute(self, namespace: str, loader: Loader) -> bytes:
        child(CACHE_RECOMPUTES, namespace).inc()
        return _json.encode(await loader())

    async def _fill(self, namespace: str, base: str, value_key: str, ttl_s: int, loader: Loader) -> bytes:
        lock_key = value_key + ":#lock"
        for _ in range(_ATTEMPTS):
            token = secrets.token_hex(8)
            try:
                got, epoch = await self._script(_ACQUIRE_LUA)(
                    keys=[lock_key, base + "#epoch"], args=[token, self._lock_ttl_ms]
                )
            except (RedisError, OSError):
                return await self._compute(namespace, loader)
            if got:
                return await self._lead(namespace, base, value_key, lock_key, token, epoch, ttl_s, loader)
            waited = await self._await_leader(value_key, lock_key)
            if waited is not None:
                return waited
        return await self._compute(namespace, loader)

    async def _lead(
        self,
        namespace: str,
        base: str,
        value_key: str,
        lock_key: str,
        token: str,
        epoch: bytes,
        ttl_s: int,
        loader: Loader,
    ) -> bytes:
        started = time.perf_counter()
        try:
            data = await self._compute(namespace, loader)
        except BaseException:
            with contextlib.suppress(RedisError, OSError):
                await self._script(_RELEASE_LUA)(keys=[lock_key], args=[token])
            raise
        delta = time.perf_counter() - started
        entry = _entry_encoder.encode(_Entry(data=data, delta=delta, expires_at=time.time() + ttl_s))
        try:
            await self._script(_STORE_LUA)(
                keys=[value_key, base + "#keys", base + "#epoch", lock_key],
                args=[entry, ttl_s * 1000, epoch, token],
            )
        except (RedisError, OSError) as exc:
            log.debug("cache store failed", extra={"error": repr(exc)})
        return data

    async def _await_leader(self, value_key: str, lock_key: str) -> bytes | None:
        """Poll for the value another process is computing; None if its lock went away without one."""
        deadline = time.monotonic() + self._lock_ttl_ms / 1000
        delay = 0.002
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_WAIT_POLL_S)
            try:
                async with self._client().pipeline(transaction=False) as pipe:
                    raw, locked = await pipe.get(value_key).exists(lock_key).execute()
            except (RedisError, OSError):
                return None
            if raw is not None:
                return _entry_decoder.decode(raw).data
            if not locked:
                return None
        return None

    async def _refresh(
        self, namespace: str, base: str, value_key: str, ttl_s: int, loader: Loader
    ) -> bytes | None:
        """Recompute ahead of expiry if no one else is; None when another process holds the lock."""
        lock_key = value_key + ":#lock"
        token = secrets.token_hex(8)
        try:
            got, epoch = await self._script(_ACQUIRE_LUA)(
                keys=[lock_key, base + "#epoch"], args=[token, self._lock_ttl_ms]
            )
        except (RedisError, OSError):
            return None
        if not got:
            return None
        return await self._lead(namespace, base, value_key, lock_key, token, epoch, ttl_s, loader)
