"""Circuit-breaker states as the services publish them: Redis hashes ``<prefix>breaker:<service>:<name>``
with fields ``state``, ``changed_at`` and ``failures``."""

from __future__ import annotations

from typing import Any, Final

from etsygen_gateway.domain.views import BreakerView

MAX_BREAKERS: Final = 1000


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


async def read_breakers(redis: Any, key_prefix: str) -> list[BreakerView]:
    """Every breaker hash under the prefix, sorted by service and name.

    Raises:
        redis.exceptions.RedisError, OSError: Redis is unreachable.
    """
    base = f"{key_prefix}breaker:"
    keys: list[bytes] = []
    async for key in redis.scan_iter(match=base.replace("*", r"\*") + "*", count=500):
        keys.append(key)
        if len(keys) >= MAX_BREAKERS:
            break
    if not keys:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        hashes = await pipe.execute()
    out = []
    for key, fields in zip(keys, hashes, strict=True):
        service, _, name = (_text(key) or "")[len(base) :].partition(":")
        values = {_text(k): _text(v) for k, v in (fields or {}).items()}
        failures = values.get("failures")
        out.append(
            BreakerView(
                service=service,
                name=name or service,
                state=values.get("state") or "unknown",
                changed_at=values.get("changed_at"),
                failures=int(failures) if failures and failures.lstrip("-").isdigit() else None,
            )
        )
    return sorted(out, key=lambda b: (b.service, b.name))
