"""The simulator's HTTP surface: Etsy Open API v3 endpoints over the synthetic catalogue, plus controls.

Etsy behaviour reproduced: ``x-api-key`` must be ``<keystring>:<shared_secret>`` (401 otherwise); per-app
limits per second and per rolling day with Etsy's four rate-limit headers and a 429 with ``retry-after`` when
exceeded; search offsets capped at 12,000 (400 beyond); Etsy-style error bodies ``{"error": "..."}``; draft
listings over form-urlencoded bodies with a Bearer token; the OAuth token endpoint.

Test controls (not part of Etsy): ``POST /_sim/control`` injects failures and changes limits at runtime,
``GET /_sim/stats`` reports what the simulator saw, ``GET /_sim/keywords`` lists the built-in niches.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import msgspec
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from etsygen_simulators.etsy.catalogue import SYNTHETIC_HOST, Catalogue

SYNTHETIC_HEADER = "x-etsygen-synthetic"
MAX_OFFSET = 12_000
SORT_ON = ("created", "price", "updated", "score")
SORT_ORDER = {"asc": True, "ascending": True, "up": True, "desc": False, "descending": False, "down": False}
INCLUDES = ("Shipping", "Images", "Shop", "User", "Translations", "Inventory", "Videos")
WHO_MADE = ("i_did", "someone_else", "collective")
WHEN_MADE = (
    "made_to_order",
    "2020_2025",
    "2010_2019",
    "2006_2009",
    "before_2006",
    "2000_2005",
    "1990s",
    "1980s",
    "1970s",
    "1960s",
    "1950s",
    "1940s",
    "1930s",
    "1920s",
    "1910s",
    "1900s",
    "1800s",
    "1700s",
    "before_1700",
)
DRAFT_REQUIRED = ("quantity", "title", "description", "price", "who_made", "when_made", "taxonomy_id")
MIN_TIMESTAMP = 946_684_800
_BEARER = re.compile(r"^Bearer (\d+)\.(\S+)$")


class SimulatorConfig(msgspec.Struct, kw_only=True):
    """How a simulator instance behaves; every field can also be changed at runtime via ``/_sim/control``."""

    seed: int = 7
    """Seed of the synthetic catalogue; the same seed serves the same data."""
    per_second: int = 10
    """Requests per second allowed per app key (Etsy's default is 10)."""
    per_day: int = 10_000
    """Requests per rolling day allowed per app key (Etsy's default is 10,000)."""
    epoch: int | None = None
    """Unix time the catalogue is "as of"; default: start time rounded down to the hour."""
    api_keys: dict[str, str] | None = None
    """Accepted ``keystring -> shared_secret`` pairs; ``None`` accepts any well-formed key."""
    day_seconds: float = 86_400.0
    """Length of the rolling day."""


class Controls(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /_sim/control``; absent fields leave the current setting unchanged."""

    fail_5xx: int | None = None
    """Answer the next N API requests with 500."""
    latency_ms: int | None = None
    """Delay every API response by this much (persistent until changed)."""
    force_429: int | None = None
    """Answer the next N API requests with 429 and ``retry-after``."""
    retry_after: float | None = None
    """``retry-after`` (seconds) of forced 429s."""
    malformed: int | None = None
    """Answer the next N API requests with a 200 whose body does not match the schema."""
    per_second: int | None = None
    per_day: int | None = None
    reset_day: bool = False
    """Forget every request of the rolling day (as if a day passed)."""
    reset_stats: bool = False


class _BadRequestError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _KeyUsage:
    """Accepted request times of one app key: the last second and the rolling day."""

    def __init__(self) -> None:
        self.second: deque[float] = deque()
        self.day: deque[float] = deque()
        self.accepted = 0
        self.max_per_second = 0

    def prune(self, now: float, day_seconds: float) -> None:
        while self.second and self.second[0] <= now - 1.0:
            self.second.popleft()
        while self.day and self.day[0] <= now - day_seconds:
            self.day.popleft()


class SimulatorState:
    """Mutable state of one simulator: limits, injected faults, usage per key, drafts and statistics."""

    def __init__(self, config: SimulatorConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        epoch = config.epoch if config.epoch is not None else int(time.time()) // 3600 * 3600
        self.config = config
        self.catalogue = Catalogue(seed=config.seed, epoch=epoch)
        self.clock = clock
        self.per_second = config.per_second
        self.per_day = config.per_day
        self.fail_5xx = 0
        self.force_429 = 0
        self.retry_after = 1.0
        self.malformed = 0
        self.latency_ms = 0
        self.usage: dict[str, _KeyUsage] = {}
        self.drafts: dict[int, dict[str, Any]] = {}
        self._next_draft_id = 1 << 50
        self._arrivals: deque[float] = deque()
        self.reset_stats()

    def reset_stats(self) -> None:
        """Zero every counter (usage windows, which enforce limits, are kept)."""
        self.requests = 0
        self.accepted = 0
        self.rejected_429 = 0
        self.rejected_auth = 0
        self.injected_5xx = 0
        self.injected_malformed = 0
        self.max_arrivals_per_second = 0
        self.by_endpoint: Counter[str] = Counter()
        for usage in self.usage.values():
            usage.accepted = 0
            usage.max_per_second = len(usage.second)

    def apply(self, controls: Controls) -> dict[str, Any]:
        """Apply a control request; returns the resulting settings."""
        if controls.fail_5xx is not None:
            self.fail_5xx = max(0, controls.fail_5xx)
        if controls.force_429 is not None:
            self.force_429 = max(0, controls.force_429)
        if controls.retry_after is not None:
            self.retry_after = max(0.0, controls.retry_after)
        if controls.malformed is not None:
            self.malformed = max(0, controls.malformed)
        if controls.latency_ms is not None:
            self.latency_ms = max(0, controls.latency_ms)
        if controls.per_second is not None:
            self.per_second = max(1, controls.per_second)
        if controls.per_day is not None:
            self.per_day = max(0, controls.per_day)
        if controls.reset_day:
            for usage in self.usage.values():
                usage.day.clear()
        if controls.reset_stats:
            self.reset_stats()
        return self.settings()

    def settings(self) -> dict[str, Any]:
        """Current limits and pending injected faults."""
        return {
            "per_second": self.per_second,
            "per_day": self.per_day,
            "fail_5xx": self.fail_5xx,
            "force_429": self.force_429,
            "retry_after": self.retry_after,
            "malformed": self.malformed,
            "latency_ms": self.latency_ms,
            "seed": self.config.seed,
            "epoch": self.catalogue.epoch,
        }

    def stats(self) -> dict[str, Any]:
        """What the simulator observed; ``max_per_second`` is over accepted requests in any 1 s window."""
        now = self.clock()
        for usage in self.usage.values():
            usage.prune(now, self.config.day_seconds)
        return {
            "synthetic": True,
            "requests": self.requests,
            "accepted": self.accepted,
            "rejected_429": self.rejected_429,
            "rejected_auth": self.rejected_auth,
            "injected_5xx": self.injected_5xx,
            "injected_malformed": self.injected_malformed,
            "max_per_second": max((usage.max_per_second for usage in self.usage.values()), default=0),
            "max_arrivals_per_second": self.max_arrivals_per_second,
            "day_count": sum(len(usage.day) for usage in self.usage.values()),
            "per_second_limit": self.per_second,
            "per_day_limit": self.per_day,
            "by_endpoint": dict(self.by_endpoint),
            "keys": {
                key: {
                    "accepted": usage.accepted,
                    "day_count": len(usage.day),
                    "max_per_second": usage.max_per_second,
                }
                for key, usage in self.usage.items()
            },
        }

    def note_arrival(self, now: float) -> None:
        self.requests += 1
        self._arrivals.append(now)
        while self._arrivals and self._arrivals[0] <= now - 1.0:
            self._arrivals.popleft()
        self.max_arrivals_per_second = max(self.max_arrivals_per_second, len(self._arrivals))

    def authenticate(self, header: str | None) -> str:
        """The app's keystring, or a 401 explaining the expected form."""
        if not header:
            raise _BadRequestError("Missing x-api-key header; send '<keystring>:<shared_secret>'", 401)
        keystring, sep, secret = header.partition(":")
        if not sep or not keystring or not secret:
            raise _BadRequestError(
                "Invalid API key: x-api-key must be '<keystring>:<shared_secret>' (shared secret required)",
                401,
            )
        known = self.config.api_keys
        if known is not None and known.get(keystring) != secret:
            raise _BadRequestError("Invalid API key: unknown keystring or wrong shared secret", 401)
        return keystring

    def rate_headers(self, usage: _KeyUsage) -> dict[str, str]:
        return {
            "x-limit-per-second": str(self.per_second),
            "x-remaining-this-second": str(max(0, self.per_second - len(usage.second))),
            "x-limit-per-day": str(self.per_day),
            "x-remaining-today": str(max(0, self.per_day - len(usage.day))),
        }

    def admit(self, keystring: str) -> tuple[_KeyUsage, float | None]:
        """Count the request against the key's limits; returns the usage and a retry-after if refused."""
        now = self.clock()
        usage = self.usage.setdefault(keystring, _KeyUsage())
        usage.prune(now, self.config.day_seconds)
        if len(usage.day) >= self.per_day:
            oldest = usage.day[0] if usage.day else now
            return usage, max(1.0, math.ceil(oldest + self.config.day_seconds - now))
        if len(usage.second) >= self.per_second:
            return usage, max(1.0, math.ceil(usage.second[0] + 1.0 - now))
        usage.second.append(now)
        usage.day.append(now)
        usage.accepted += 1
        usage.max_per_second = max(usage.max_per_second, len(usage.second))
        self.accepted += 1
        return usage, None

    def create_draft(self, shop_id: int, user_id: int, form: dict[str, list[str]]) -> dict[str, Any]:
        """Validate a ``createDraftListing`` form and store the draft; raises ``_BadRequestError``."""
        missing = [name for name in DRAFT_REQUIRED if not form.get(name) or not form[name][0].strip()]
        if missing:
            raise _BadRequestError(f"Missing required parameter(s): {', '.join(missing)}")
        quantity = _to_int(form["quantity"][0], "quantity", minimum=1)
        taxonomy_id = _to_int(form["taxonomy_id"][0], "taxonomy_id", minimum=1)
        price = _to_float(form["price"][0], "price")
        if not 0.2 <= price <= 50_000:
            raise _BadRequestError("price must be between 0.20 and 50000.00")
        title = form["title"][0]
        if len(title) > 140:
            raise _BadRequestError("title must be at most 140 characters")
        who_made, when_made = form["who_made"][0], form["when_made"][0]
        if who_made not in WHO_MADE:
            raise _BadRequestError(f"who_made must be one of {', '.join(WHO_MADE)}")
        if when_made not in WHEN_MADE:
            raise _BadRequestError(f"when_made must be one of {', '.join(WHEN_MADE)}")
        tags = _array(form, "tags")
        if len(tags) > 13 or any(len(tag) > 20 for tag in tags):
            raise _BadRequestError("tags: at most 13, each at most 20 characters")
        listing_type = form.get("type", ["physical"])[0]
        if listing_type not in ("physical", "download", "both"):
            raise _BadRequestError("type must be one of physical, download, both")
        listing_id = self._next_draft_id
        self._next_draft_id += 1
        now = int(time.time())
        draft = {
            "listing_id": listing_id,
            "user_id": user_id,
            "shop_id": shop_id,
            "title": title,
            "description": form["description"][0],
            "state": "draft",
            "creation_timestamp": now,
            "created_timestamp": now,
            "ending_timestamp": now + 120 * 86_400,
            "original_creation_timestamp": now,
            "last_modified_timestamp": now,
            "updated_timestamp": now,
            "state_timestamp": now,
            "quantity": quantity,
            "shop_section_id": None,
            "featured_rank": -1,
            "url": f"{SYNTHETIC_HOST}/listing/{listing_id}",
            "num_favorers": 0,
            "is_taxable": True,
            "is_customizable": False,
            "is_personalizable": False,
            "listing_type": listing_type,
            "tags": tags,
            "materials": _array(form, "materials"),
            "who_made": who_made,
            "when_made": when_made,
            "is_supply": form.get("is_supply", ["false"])[0] == "true",
            "is_private": False,
            "style": _array(form, "styles"),
            "has_variations": False,
            "should_auto_renew": False,
            "language": "en-US",
            "price": {"amount": round(price * 100), "divisor": 100, "currency_code": "USD"},
            "taxonomy_id": taxonomy_id,
        }
        self.drafts[listing_id] = draft
        return draft


# -- parameter parsing ----------------------------------------------------------------------------------


def _to_int(raw: str, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequestError(f"Expected int for parameter '{name}', got '{raw}'") from None
    if minimum is not None and value < minimum:
        raise _BadRequestError(f"Parameter '{name}' must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise _BadRequestError(f"Parameter '{name}' must be at most {maximum}")
    return value


def _to_float(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise _BadRequestError(f"Expected number for parameter '{name}', got '{raw}'") from None
    if not math.isfinite(value):
        raise _BadRequestError(f"Parameter '{name}' must be a finite number")
    return value


def _array(form: dict[str, list[str]], name: str) -> list[str]:
    """Array parameter given as repeated keys, comma-separated values, or both."""
    return [item.strip() for raw in form.get(name, []) for item in raw.split(",") if item.strip()]


def _query(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    return {key: request.query_params.getall(key) for key in request.query_params}


def _int_param(
    query: dict[str, list[str]],
    name: str,
    default: int | None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    values = query.get(name)
    if not values or values[0] == "":
        return default
    return _to_int(values[0], name, minimum=minimum, maximum=maximum)


def _float_param(query: dict[str, list[str]], name: str) -> float | None:
    values = query.get(name)
    if not values or values[0] == "":
        return None
    return _to_float(values[0], name)


# -- responses --------------------------------------------------------------------------------------


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=MediaType.JSON,
        headers={SYNTHETIC_HEADER: "true", **(headers or {})},
    )


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    return _json(exc.status_code, {"error": str(exc.detail)})


MALFORMED_BODY = {"count": "many", "results": {"note": "injected malformed response (synthetic)"}}

Produce = Callable[[], Awaitable[tuple[int, Any]]]


def build_simulator_app(
    config: SimulatorConfig | None = None, *, clock: Callable[[], float] = time.monotonic
) -> tuple[Litestar, SimulatorState]:
    """The Litestar app and its state (tests may read or drive the state directly)."""
    state = SimulatorState(config or SimulatorConfig(), clock=clock)

    async def serve_api(request: Request[Any, Any, Any], endpoint: str, produce: Produce) -> Response[bytes]:
        state.note_arrival(state.clock())
        state.by_endpoint[endpoint] += 1
        try:
            keystring = state.authenticate(request.headers.get("x-api-key"))
        except _BadRequestError as exc:
            state.rejected_auth += 1
            return _json(exc.status, {"error": exc.message})
        usage = state.usage.setdefault(keystring, _KeyUsage())
        if state.force_429 > 0:
            state.force_429 -= 1
            state.rejected_429 += 1
            headers = {**state.rate_headers(usage), "retry-after": f"{state.retry_after:g}"}
            return _json(429, {"error": "Rate limit exceeded (injected by simulator control)"}, headers)
        usage, retry_after = state.admit(keystring)
        if retry_after is not None:
            state.rejected_429 += 1
            headers = {**state.rate_headers(usage), "retry-after": f"{retry_after:g}"}
            daily = len(usage.day) >= state.per_day
            message = "daily request limit reached" if daily else "per-second request limit reached"
            return _json(429, {"error": f"Rate limit exceeded: {message}"}, headers)
        headers = state.rate_headers(usage)
        if state.latency_ms:
            await asyncio.sleep(state.latency_ms / 1000)
        if state.fail_5xx > 0:
            state.fail_5xx -= 1
            state.injected_5xx += 1
            return _json(500, {"error": "Internal server error (injected by simulator control)"}, headers)
        if state.malformed > 0:
            state.malformed -= 1
            state.injected_malformed += 1
            return _json(200, MALFORMED_BODY, headers)
        try:
            status, body = await produce()
        except _BadRequestError as exc:
            return _json(exc.status, {"error": exc.message}, headers)
        return _json(status, body, headers)

    @get("/v3/application/listings/active")
    async def find_all_listings_active(request: Request[Any, Any, Any]) -> Response[bytes]:
        async def produce() -> tuple[int, Any]:
            query = _query(request)
            limit = _int_param(query, "limit", 25, minimum=1, maximum=100) or 25
            offset = _int_param(query, "offset", 0, minimum=0) or 0
            if offset > MAX_OFFSET:
                raise _BadRequestError(
                    f"offset must be at most {MAX_OFFSET}; narrow by min_price/max_price/taxonomy_id instead"
                )
            sort_on = (query.get("sort_on") or ["created"])[0]
            if sort_on not in SORT_ON:
                raise _BadRequestError(f"sort_on must be one of {', '.join(SORT_ON)}")
            sort_order = (query.get("sort_order") or ["desc"])[0]
            if sort_order not in SORT_ORDER:
                raise _BadRequestError(f"sort_order must be one of {', '.join(SORT_ORDER)}")
            keywords = (query.get("keywords") or [""])[0].strip()
            if not keywords:
                return 200, {"count": 0, "results": []}
            count, results = state.catalogue.search(
                keywords,
                limit=limit,
                offset=offset,
                sort_on=sort_on,
                ascending=SORT_ORDER[sort_order],
                min_price=_float_param(query, "min_price"),
                max_price=_float_param(query, "max_price"),
                taxonomy_id=_int_param(query, "taxonomy_id", None, minimum=1),
            )
            return 200, {"count": count, "results": results}

        return await serve_api(request, "findAllListingsActive", produce)

    @get("/v3/application/listings/batch")
    async def get_listings_by_listing_ids(request: Request[Any, Any, Any]) -> Response[bytes]:
        async def produce() -> tuple[int, Any]:
            query = _query(request)
            raw_ids = _array(query, "listing_ids")
            if not raw_ids:
                raise _BadRequestError("listing_ids is required")
            if len(raw_ids) > 100:
                raise _BadRequestError("listing_ids may contain at most 100 ids")
            ids = [_to_int(raw, "listing_ids", minimum=1) for raw in raw_ids]
            includes = _array(query, "includes")
            unknown = [name for name in includes if name not in INCLUDES]
            if unknown:
                raise _BadRequestError(
                    f"includes must be among {', '.join(INCLUDES)}; got {', '.join(unknown)}"
                )
            results = []
            for listing_id in dict.fromkeys(ids):
                resource = state.drafts.get(listing_id) or state.catalogue.listing(
                    listing_id, includes=includes
                )
                if resource is not None:
                    results.append(resource)
            return 200, {"count": len(results), "results": results}

        return await serve_api(request, "getListingsByListingIds", produce)

    @get("/v3/application/listings/{listing_id:str}/reviews")
    async def get_reviews_by_listing(
        request: Request[Any, Any, Any], listing_id: FromPath[str]
    ) -> Response[bytes]:
        async def produce() -> tuple[int, Any]:
            query = _query(request)
            ident = _to_int(listing_id, "listing_id", minimum=1)
            found = state.catalogue.reviews(
                ident,
                limit=_int_param(query, "limit", 25, minimum=1, maximum=100) or 25,
                offset=_int_param(query, "offset", 0, minimum=0) or 0,
                min_created=_int_param(query, "min_created", None, minimum=MIN_TIMESTAMP),
                max_created=_int_param(query, "max_created", None, minimum=MIN_TIMESTAMP),
            )
            if found is None:
                raise _BadRequestError(f"Listing with listing_id {ident} was not found", 404)
            count, results = found
            return 200, {"count": count, "results": results}

        return await serve_api(request, "getReviewsByListing", produce)

    @get("/v3/application/shops/{shop_id:str}")
    async def get_shop(request: Request[Any, Any, Any], shop_id: FromPath[str]) -> Response[bytes]:
        async def produce() -> tuple[int, Any]:
            ident = _to_int(shop_id, "shop_id", minimum=1)
            shop = state.catalogue.shop(ident)
            if shop is None:
                raise _BadRequestError(f"Shop with shop_id {ident} was not found", 404)
            return 200, shop

        return await serve_api(request, "getShop", produce)

    @post("/v3/application/shops/{shop_id:str}/listings")
    async def create_draft_listing(
        request: Request[Any, Any, Any], shop_id: FromPath[str]
    ) -> Response[bytes]:
        body = await request.body()

        async def produce() -> tuple[int, Any]:
            ident = _to_int(shop_id, "shop_id", minimum=1)
            bearer = _BEARER.match(request.headers.get("authorization", ""))
            if bearer is None:
                raise _BadRequestError(
                    "Missing or invalid OAuth token: send 'Authorization: Bearer <user_id>.<token>'", 401
                )
            content_type = request.headers.get("content-type", "")
            if not content_type.startswith("application/x-www-form-urlencoded"):
                raise _BadRequestError("createDraftListing expects application/x-www-form-urlencoded")
            form = parse_qs(body.decode(), keep_blank_values=True)
            return 201, state.create_draft(ident, int(bearer.group(1)), form)

        return await serve_api(request, "createDraftListing", produce)

    @post("/v3/public/oauth/token")
    async def oauth_token(request: Request[Any, Any, Any]) -> Response[bytes]:
        state.note_arrival(state.clock())
        state.by_endpoint["oauthToken"] += 1
        form = parse_qs((await request.body()).decode(), keep_blank_values=True)

        def field(name: str) -> str:
            return (form.get(name) or [""])[0]

        client_id = field("client_id")
        known = state.config.api_keys
        if not client_id or (known is not None and client_id not in known):
            return _json(401, {"error": "invalid_client", "error_description": "unknown client_id"})
        grant = field("grant_type")
        if grant == "refresh_token":
            user_id, _, rest = field("refresh_token").partition(".")
            if not user_id.isdigit() or not rest:
                return _json(400, {"error": "invalid_grant", "error_description": "refresh_token is invalid"})
        elif grant == "authorization_code":
            if not (field("code") and field("code_verifier") and field("redirect_uri")):
                return _json(
                    400,
                    {
                        "error": "invalid_request",
                        "error_description": "code, code_verifier, redirect_uri required",
                    },
                )
            user_id = str(
                int.from_bytes(hashlib.blake2b(field("code").encode(), digest_size=3).digest(), "big")
            )
        else:
            return _json(
                400, {"error": "unsupported_grant_type", "error_description": f"grant_type {grant!r}"}
            )
        nonce = hashlib.blake2b(f"{user_id}:{time.time_ns()}".encode(), digest_size=12).hexdigest()
        return _json(
            200,
            {
                "access_token": f"{user_id}.synthetic-access-{nonce}",
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": f"{user_id}.synthetic-refresh-{nonce}",
            },
        )

    @post("/_sim/control", status_code=200)
    async def control(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            controls = msgspec.json.decode(await request.body() or b"{}", type=Controls)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return _json(400, {"error": f"invalid control body: {exc}"})
        return _json(200, state.apply(controls))

    @get("/_sim/control")
    async def control_settings() -> Response[bytes]:
        return _json(200, state.settings())

    @get("/_sim/stats")
    async def stats() -> Response[bytes]:
        return _json(200, state.stats())

    @get("/_sim/keywords")
    async def keywords() -> Response[bytes]:
        return _json(200, {"synthetic": True, "keywords": state.catalogue.describe()})

    app = Litestar(
        route_handlers=[
            find_all_listings_active,
            get_listings_by_listing_ids,
            get_reviews_by_listing,
            get_shop,
            create_draft_listing,
            oauth_token,
            control,
            control_settings,
            stats,
            keywords,
        ],
        exception_handlers={HTTPException: _http_exception},
        openapi_config=None,
        logging_config=None,
    )
    return app, state
