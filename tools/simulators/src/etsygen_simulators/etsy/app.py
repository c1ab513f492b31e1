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
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import msgspec
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from etsygen_simulators.etsy.params import (
    BadRequestError,
    array_param,
    float_param,
    int_param,
    query_params,
    to_int,
)
from etsygen_simulators.etsy.state import Controls, KeyUsage, SimulatorConfig, SimulatorState

SYNTHETIC_HEADER = "x-etsygen-synthetic"
MAX_OFFSET = 12_000
SORT_ON = ("created", "price", "updated", "score")
SORT_ORDER = {"asc": True, "ascending": True, "up": True, "desc": False, "descending": False, "down": False}
INCLUDES = ("Shipping", "Images", "Shop", "User", "Translations", "Inventory", "Videos")
MIN_TIMESTAMP = 946_684_800
_BEARER = re.compile(r"^Bearer (\d+)\.(\S+)$")


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
        except BadRequestError as exc:
            state.rejected_auth += 1
            return _json(exc.status, {"error": exc.message})
        usage = state.usage.setdefault(keystring, KeyUsage())
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
        except BadRequestError as exc:
            return _json(exc.status, {"error": exc.message}, headers)
        return _json(status, body, headers)

    @get("/v3/application/listings/active")
    async def find_all_listings_active(request: Request[Any, Any, Any]) -> Response[bytes]:
        async def produce() -> tuple[int, Any]:
            query = query_params(request)
            limit = int_param(query, "limit", 25, minimum=1, maximum=100) or 25
            offset = int_param(query, "offset", 0, minimum=0) or 0
            if offset > MAX_OFFSET:
                raise BadRequestError(
                    f"offset must be at most {MAX_OFFSET}; narrow by min_price/max_price/taxonomy_id instead"
                )
            sort_on = (query.get("sort_on") or ["created"])[0]
            if sort_on not in SORT_ON:
                raise BadRequestError(f"sort_on must be one of {', '.join(SORT_ON)}")
            sort_order = (query.get("sort_order") or ["desc"])[0]
            if sort_order not in SORT_ORDER:
                raise BadRequestError(f"sort_order must be one of {', '.join(SORT_ORDER)}")
            keywords = (query.get("keywords") or [""])[0].strip()
            if not keywords:
                return 200, {"count": 0, "results": []}
            count, results = state.catalogue.search(
                keywords,
                limit=limit,
                offset=offset,
                sort_on=sort_on,
                ascending=SORT_ORDER[sort_order],
                min_price=float_param(query, "min_price"),
                max_price=float_param(query, "max_price"),
                taxonomy_id=int_param(query, "taxonomy_id", None, minimum=1),
            )
            return 200, {"count": count, "results": results}

        return await serve_api(request, "findAllListingsActive", produce)

    @get("/v3/application/listings/batch")
    async def get_listings_by_listing_ids(request: Request[Any, Any, Any]) -> Response[bytes]:
        async def produce() -> tuple[int, Any]:
            query = query_params(request)
            raw_ids = array_param(query, "listing_ids")
            if not raw_ids:
                raise BadRequestError("listing_ids is required")
            if len(raw_ids) > 100:
                raise BadRequestError("listing_ids may contain at most 100 ids")
            ids = [to_int(raw, "listing_ids", minimum=1) for raw in raw_ids]
            includes = array_param(query, "includes")
            unknown = [name for name in includes if name not in INCLUDES]
            if unknown:
                raise BadRequestError(
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
            query = query_params(request)
            ident = to_int(listing_id, "listing_id", minimum=1)
            found = state.catalogue.reviews(
                ident,
                limit=int_param(query, "limit", 25, minimum=1, maximum=100) or 25,
                offset=int_param(query, "offset", 0, minimum=0) or 0,
                min_created=int_param(query, "min_created", None, minimum=MIN_TIMESTAMP),
                max_created=int_param(query, "max_created", None, minimum=MIN_TIMESTAMP),
            )
            if found is None:
                raise BadRequestError(f"Listing with listing_id {ident} was not found", 404)
            count, results = found
            return 200, {"count": count, "results": results}

        return await serve_api(request, "getReviewsByListing", produce)

    @get("/v3/application/shops/{shop_id:str}")
    async def get_shop(request: Request[Any, Any, Any], shop_id: FromPath[str]) -> Response[bytes]:
        async def produce() -> tuple[int, Any]:
            ident = to_int(shop_id, "shop_id", minimum=1)
            shop = state.catalogue.shop(ident)
            if shop is None:
                raise BadRequestError(f"Shop with shop_id {ident} was not found", 404)
            return 200, shop

        return await serve_api(request, "getShop", produce)

    @post("/v3/application/shops/{shop_id:str}/listings")
    async def create_draft_listing(
        request: Request[Any, Any, Any], shop_id: FromPath[str]
    ) -> Response[bytes]:
        body = await request.body()

        async def produce() -> tuple[int, Any]:
            ident = to_int(shop_id, "shop_id", minimum=1)
            bearer = _BEARER.match(request.headers.get("authorization", ""))
            if bearer is None:
                raise BadRequestError(
                    "Missing or invalid OAuth token: send 'Authorization: Bearer <user_id>.<token>'", 401
                )
            content_type = request.headers.get("content-type", "")
            if not content_type.startswith("application/x-www-form-urlencoded"):
                raise BadRequestError("createDraftListing expects application/x-www-form-urlencoded")
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
