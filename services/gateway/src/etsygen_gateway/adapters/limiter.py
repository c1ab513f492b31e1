"""The rate limiter: one atomic Lua call per decision, with Redis' own clock.

Every tier of a request (``api`` and ``ai`` for a generation, the failed-attempt budgets per client IP and
per account for a login) is checked and, only if all admit it, spent, in the same script; a request may
spend several tokens of a tier at once, and tokens can be given back (see ``domain.ratelimit``). Redis runs
scripts one at a time, so any number of gateway processes sharing it admit exactly ``limit`` tokens of a
full budget; using ``TIME`` inside the script means the processes' own clocks never matter.

Decisions go over a lean pipelined connection (``adapters.resp``): those made in the same event-loop
iteration share one write and one read. Each decision is still its own atomic script run; only the network
round trip is shared, which under load is most of a decision's cost.

Redis unreachable: the limiter fails open (the request is served), logs at most once every few seconds,
and counts each such decision in ``etsygen_gateway_ratelimit_fail_open_total``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from etsygen_common.logging import get_logger
from etsygen_gateway.adapters.resp import ReplyError, RespChannel, encode_command
from etsygen_gateway.domain.ratelimit import Decision, Tier, combine, result_from
from etsygen_gateway.metrics import RATE_DECISIONS, RATE_FAIL_OPEN, SERVICE, child

log = get_logger(__name__)

# KEYS: one per tier.  ARGV: limit_1, window_us_1, cost_1, limit_2, window_us_2, cost_2, ...
# Returns per tier {allowed (0/1), reset_us, retry_us}, flattened.
# Nothing is written unless every tier admits the request. A negative cost gives tokens back; a TAT it
# pushes to or below now is a full budget, so the key is deleted rather than stored with no lifetime.
GCRA_LUA: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS
local tats, news, ok = {}, {}, {}
local all_ok = true
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  tats[i] = tat
  news[i] = tat + window / limit * cost
  ok[i] = (news[i] - window) <= now
  if not ok[i] then all_ok = false end
end
local out = {}
for i = 1, n do
  local window = tonumber(ARGV[3 * i - 1])
  if all_ok then
    if news[i] > now then
      local ttl = math.ceil((news[i] - now) / 1000) + 1
      redis.call('SET', KEYS[i], string.format('%.0f', news[i]), 'PX', ttl)
    else
      redis.call('DEL', KEYS[i])
    end
    out[3 * i - 2] = 1
    out[3 * i - 1] = math.floor(news[i] - now)
    out[3 * i] = 0
  elseif ok[i] then
    out[3 * i - 2] = 1
    out[3 * i - 1] = math.floor(tats[i] - now)
    out[3 * i] = 0
  else
    out[3 * i - 2] = 0
    out[3 * i - 1] = math.floor(tats[i] - now)
    out[3 * i] = math.ceil(news[i] - window - now)
  end
end
return out
"""

_LOG_EVERY_S: Final = 10.0


# Redis names a script by the SHA-1 of its source, so the digest is known before the script is loaded.
_GCRA_SHA: Final = hashlib.sha1(GCRA_LUA.encode()).hexdigest().encode()  # noqa: S324
_COMMANDS_MAX: Final = 10_000


class _ScriptRunner:
    """Runs the GCRA script over a :class:`RespChannel`, loading it into Redis when Redis lacks it."""

    def __init__(self, redis: Callable[[], Any]) -> None:
        self._redis = redis
        self._client: Any = None
        self._channel: RespChannel | None = None

    def evalsha(self, command: bytes) -> Awaitable[Any]:
        """Send an encoded ``EVALSHA`` of the script; await the reply (a :class:`ReplyError` is returned).

        On an open connection this is the reply's future itself: no coroutine is made per decision.
        """
        client = self._redis()
        if client is None:
            raise RedisConnectionError("the Redis client is not started")
        if self._channel is None or client is not self._client:
            self._client, self._channel = client, RespChannel(client)
        return self._channel.submit(command) or self._channel.call_encoded(command, raise_errors=False)

    async def recover(self, command: bytes, error: ReplyError) -> Any:
        """After an error reply: load the script and run ``command`` again if Redis lacked it, else raise."""
        if not str(error).startswith("NOSCRIPT") or self._channel is None:
            raise error
        # Redis restarted or was flushed: load the script again (its digest stays the same).
        await self._channel.call("SCRIPT", "LOAD", GCRA_LUA)
        return await self._channel.call_encoded(command)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


class RateLimiter:
    """Decides whether a request may proceed, for any number of tiers at once."""

    def __init__(self, redis: Callable[[], Any], key_prefix: str, *, enabled: bool = True) -> None:
        """Create a limiter.

        Args:
            redis: returns the asyncio Redis client (it exists only once the service started).
            key_prefix: the deployment's ``REDIS_KEY_PREFIX``.
            enabled: when False every request is admitted without headers.
        """
        self._prefix = f"{key_prefix}rl:"
        self._enabled = enabled
        self._runner = _ScriptRunner(redis)
        self._last_log = 0.0
        self._commands: dict[tuple[Any, ...], bytes] = {}
        self._decided: dict[tuple[str, bool], Any] = {}

    async def close(self) -> None:
        """Close the limiter's Redis connection."""
        await self._runner.close()

    def key(self, tier: Tier, identity: str) -> str:
        """Redis key of ``identity``'s budget in ``tier``."""
        return f"{self._prefix}{tier.name}:{identity}"

    def _command(self, checks: Sequence[tuple[Tier, str]], costs: Sequence[int] | None) -> bytes:
        """The encoded ``EVALSHA`` for ``checks`` (remembered: a client spends the same budgets each time)."""
        # Keyed by the budgets alone in the common case of one token each (no tuple of costs to build).
        key: tuple[Any, ...] = tuple(checks) if costs is None else (*checks, tuple(costs))
        command = self._commands.get(key)
        if command is None:
            args: list[int] = []
            for i, (tier, _) in enumerate(checks):
                args += [tier.limit, tier.window_s * 1_000_000, 1 if costs is None else costs[i]]
            keys = [f"{self._prefix}{tier.name}:{identity}" for tier, identity in checks]
            command = encode_command(("EVALSHA", _GCRA_SHA, len(keys), *keys, *args))
            if len(self._commands) >= _COMMANDS_MAX:
                self._commands.clear()
            self._commands[key] = command
        return command

    async def check(
        self, checks: Sequence[tuple[Tier, str]], costs: Sequence[int] | None = None, *, counted: bool = True
    ) -> Decision:
        """Spend from every ``(tier, identity)`` budget, or from none if any lacks enough.

        Args:
            checks: the budgets the request spends.
            costs: tokens to spend from each (default one each; negative gives back, see :meth:`refund`).
            counted: count the decision in ``etsygen_gateway_ratelimit_decisions_total``.

        Raises:
            ValueError: a cost above its tier's limit (it could never be admitted: callers refuse it first,
                with a message saying so) or a cost list that does not match ``checks``.
        """
        if not self._enabled or not checks:
            return Decision(allowed=True, results=())
        if costs is not None:
            if len(costs) != len(checks):
                raise ValueError(f"{len(checks)} budgets but {len(costs)} costs")
            for (tier, _), cost in zip(checks, costs, strict=True):
                if cost > tier.limit:
                    raise ValueError(f"a cost of {cost} can never fit the {tier.name} tier's limit")
        command = self._command(checks, costs)
        try:
            raw = await self._runner.evalsha(command)
            if isinstance(raw, ReplyError):
                raw = await self._runner.recover(command, raw)
        except (RedisError, OSError) as exc:
            return self._fail_open([tier for tier, _ in checks], exc)
        if len(checks) == 1 and costs is None:  # most routes spend one token of one tier
            tier = checks[0][0]
            only = result_from(tier, raw[0] == 1, raw[1], raw[2])
            decision = Decision(allowed=only.allowed, results=(only,))
            label = tier.name
        else:
            tiers = [tier for tier, _ in checks]
            outcomes = [(raw[i] == 1, raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
            decision = combine(tiers, outcomes, costs)
            label = tiers[0].name if decision.allowed else (decision.binding or decision.results[0]).tier.name
        if counted:
            counter = self._decided.get((label, decision.allowed))
            if counter is None:
                outcome = "allowed" if decision.allowed else "limited"
                counter = self._decided[label, decision.allowed] = RATE_DECISIONS.labels(
                    SERVICE, label, outcome
                )
            counter.inc()
        return decision

    async def refund(self, checks: Sequence[tuple[Tier, str]], tokens: int = 1) -> Decision:
        """Give ``tokens`` back to every budget (never beyond a full one); the decision tells what is left.

        Not counted as a decision: the request it belongs to was counted when it spent.
        """
        return await self.check(checks, [-tokens] * len(checks), counted=False)

    def _fail_open(self, tiers: Sequence[Tier], exc: BaseException) -> Decision:
        for tier in tiers:
            child(RATE_FAIL_OPEN, tier.name).inc()
        now = time.monotonic()
        if now - self._last_log > _LOG_EVERY_S:
            self._last_log = now
            log.warning(
                "rate limiter cannot reach Redis; failing open",
                extra={"error": f"{type(exc).__name__}: {exc}"[:300]},
            )
        return Decision(allowed=True, results=(), failed_open=True)
