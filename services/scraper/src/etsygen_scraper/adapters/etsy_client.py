"""Async client for the parts of Etsy Open API v3 the scraper and publisher use.

Paths, parameter names and types follow the pinned OpenAPI document (``etsy-openapi-3.0.0.json``); the
contract tests check every request against it. Only the base URL differs between Etsy and the simulator.

Every call carries ``x-api-key: <keystring>:<shared_secret>``, is paced by a ``RateLimiter`` fed from Etsy's
rate-limit headers, retries 5xx answers and timeouts with exponential backoff and full jitter, honours a
429's ``retry-after`` up to ``max_retry_after_s``, and maps failures to the typed errors of
``etsy_errors``.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

import httpx
import msgspec

from etsygen_scraper.adapters.etsy_errors import (
    EtsyAuthError,
    EtsyDailyBudgetExhausted,
    EtsyError,
    EtsyInvalidRequest,
    EtsyMalformedResponse,
    EtsyNotFound,
    EtsyRateLimited,
    EtsyUnavailable,
)
from etsygen_scraper.adapters.rate_limit import (
    DEFAULT_PER_SECOND,
    DailyBudget,
    PacingState,
    RateHeaders,
    RateLimiter,
)
from etsygen_scraper.domain.etsy_models import (
    EtsyErrorBody,
    EtsyListing,
    EtsyListingsPage,
    EtsyOAuthToken,
    EtsyReviewsPage,
    EtsyShop,
    ReviewWindow,
)

DEFAULT_BASE_URL = "https://openapi.etsy.com"
SYNTHETIC_HEADER = "x-etsygen-synthetic"
"""Set to ``true`` by the simulator on every response so synthetic data is never mistaken for Etsy's."""

SortOn = Literal["created", "price", "updated", "score"]
ListingInclude = Literal["Shipping", "Images", "Shop", "User", "Translations", "Inventory", "Videos"]
FormScalar = str | int | float | bool
FormValue = FormScalar | Sequence[FormScalar] | None

DRAFT_REQUIRED_FIELDS = ("quantity", "title", "description", "price", "who_made", "when_made", "taxonomy_id")
"""Fields ``createDraftListing`` requires (``requestBody`` ``required`` in the OpenAPI document)."""
BEARER_FIX_HINT = "refresh the OAuth access token (they last 1 hour) or ask the seller to reconnect the shop"
MIN_TIMESTAMP = 946_684_800
"""Smallest ``min_created`` Etsy accepts (2000-01-01)."""

T = TypeVar("T")


class CallTally:
    """Requests sent (retries included) and synthetic responses seen inside one ``tally_calls()`` block."""

    __slots__ = ("requests", "synthetic")

    def __init__(self) -> None:
        self.requests = 0
        self.synthetic = 0


_tallies: ContextVar[tuple[CallTally, ...]] = ContextVar("etsy_call_tallies", default=())


@contextmanager
def tally_calls() -> Iterator[CallTally]:
    """Count the calls made by this task and the tasks it starts, even when the client is shared.

    Tallies nest: an outer block also counts what inner blocks count.
    """
    tally = CallTally()
    token = _tallies.set((*_tallies.get(), tally))
    try:
        yield tally
    finally:
        _tallies.reset(token)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``retry-after`` header (delta-seconds or HTTP date); ``None`` if unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def full_jitter_backoff(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """AWS-style full jitter: uniform in ``[0, min(cap, base * 2**(attempt-1))]`` for attempt 1, 2, ..."""
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt - 1)))
    return rng.uniform(0.0, ceiling)


def encode_form(fields: Mapping[str, FormValue]) -> str:
    """``application/x-www-form-urlencoded`` body with arrays as repeated keys and booleans as true/false."""

    def scalar(value: FormScalar) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, str | int | float | bool):
            pairs.append((name, scalar(value)))
        else:
            pairs.extend((name, scalar(item)) for item in value)
    return urlencode(pairs)


def _error_text(response: httpx.Response) -> str:
    try:
        return msgspec.json.decode(response.content, type=EtsyErrorBody).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = response.text.strip()
        return text[:300] if text else f"HTTP {response.status_code}"


class EtsyClient:
    """Etsy Open API v3 over ``httpx.AsyncClient``. Use as ``async with EtsyClient(api_key) as client:``.

    Args:
        api_key: ``<keystring>:<shared_secret>``, sent as ``x-api-key`` on every call.
        base_url: Etsy's (default) or the simulator's origin.
        timeout_s: per-request timeout; a timeout is retried like a 5xx.
        per_second: ceiling on requests per second; headers may lower it, never raise it.
        max_attempts: attempts per call for 5xx answers and timeouts (1 means no retry).
        backoff_base_s: first backoff ceiling; doubles each attempt (full jitter).
        backoff_cap_s: largest backoff ceiling.
        max_retry_after_s: longest ``retry-after`` waited out; longer ones raise ``EtsyRateLimited``.
        max_rate_limit_retries: 429s tolerated per call before giving up.
        transport: custom httpx transport (tests); ignored when ``http`` is given.
        http: an existing ``httpx.AsyncClient`` to use (not closed by this client).
        rng: randomness for jitter (seed it in tests).
        sleep: how to wait between retries (tests may record instead of sleeping).
        clock: monotonic clock used for pacing.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 20.0,
        per_second: int = DEFAULT_PER_SECOND,
        max_attempts: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        max_retry_after_s: float = 30.0,
        max_rate_limit_retries: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._api_key = api_key
        self._keystring = api_key.split(":", 1)[0]
        self._base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            base_url=self._base_url, timeout=timeout_s, transport=transport
        )
        self._limiter = RateLimiter(PacingState(per_second), clock=clock)
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._max_retry_after_s = max_retry_after_s
        self._max_rate_limit_retries = max_rate_limit_retries
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.requests_sent = 0
        """HTTP requests sent, retries included: what Etsy may count against the budget."""
        self.synthetic_responses = 0
        """Responses that carried the simulator's synthetic label."""

    async def __aenter__(self) -> EtsyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def daily_budget(self) -> DailyBudget:
        """Remaining daily calls as Etsy last reported them (less calls sent since) and how old that is."""
        return self._limiter.daily_budget()

    @property
    def limiter(self) -> RateLimiter:
        """The pacing gate (shared by every call of this client)."""
        return self._limiter

    # -- public API -------------------------------------------------------------------------------------

    async def search_active(
        self,
        keywords: str,
        limit: int = 100,
        offset: int = 0,
        sort_on: SortOn = "score",
        min_price: float | None = None,
        max_price: float | None = None,
        taxonomy_id: int | None = None,
    ) -> EtsyListingsPage:
        """``findAllListingsActive``: one page of listings matching ``keywords``; ``count`` is the total."""
        if not 1 <= limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        if offset < 0:
            raise ValueError("offset must not be negative")
        params: dict[str, Any] = {"keywords": keywords, "limit": limit, "offset": offset, "sort_on": sort_on}
        if min_price is not None:
            params["min_price"] = f"{min_price:.2f}"
        if max_price is not None:
            params["max_price"] = f"{max_price:.2f}"
        if taxonomy_id is not None:
            params["taxonomy_id"] = taxonomy_id
        return await self._call("GET", "/v3/application/listings/active", EtsyListingsPage, params=params)

    async def get_listings_batch(
        self, listing_ids: Iterable[int], includes: Sequence[ListingInclude] = ("Shop", "Images")
    ) -> EtsyListingsPage:
        """``getListingsByListingIds``: up to 100 listings with ``views`` and the requested associations."""
        ids = list(dict.fromkeys(listing_ids))
        if not 1 <= len(ids) <= 100:
            raise ValueError("get_listings_batch takes between 1 and 100 listing ids")
        params: dict[str, Any] = {"listing_ids": ",".join(str(listing_id) for listing_id in ids)}
        if includes:
            params["includes"] = ",".join(includes)
        return await self._call("GET", "/v3/application/listings/batch", EtsyListingsPage, params=params)

    async def get_reviews(
        self,
        listing_id: int,
        *,
        min_created: int | None = None,
        max_created: int | None = None,
        limit: int = 25,
        offset: int = 0,
    ) -> EtsyReviewsPage:
        """``getReviewsByListing``: one page of a listing's reviews, optionally within a creation window."""
        if not 1 <= limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if min_created is not None:
            params["min_created"] = max(MIN_TIMESTAMP, min_created)
        if max_created is not None:
            params["max_created"] = max(MIN_TIMESTAMP, max_created)
        return await self._call(
            "GET", f"/v3/application/listings/{listing_id}/reviews", EtsyReviewsPage, params=params
        )

    async def count_reviews(
        self, listing_id: int, min_created: int, max_created: int | None = None
    ) -> ReviewWindow:
        """Reviews of ``listing_id`` created in ``[min_created, max_created]``: Etsy's exact ``count``.

        The page size is the maximum (100) so the same call also yields ratings for an average.
        """
        page = await self.get_reviews(listing_id, min_created=min_created, max_created=max_created, limit=100)
        return ReviewWindow(
            listing_id=listing_id,
            min_created=max(MIN_TIMESTAMP, min_created),
            max_created=max_created,
            count=page.count,
            ratings=[review.rating for review in page.results],
        )

    async def get_shop(self, shop_id: int) -> EtsyShop:
        """``getShop``: shop-wide figures (sales, reviews, favourites, active listings)."""
        return await self._call("GET", f"/v3/application/shops/{shop_id}", EtsyShop)

    async def refresh_access_token(self, refresh_token: str) -> EtsyOAuthToken:
        """Exchange a refresh token (valid 90 days) for a new access token (valid 1 hour)."""
        form = {"grant_type": "refresh_token", "client_id": self._keystring, "refresh_token": refresh_token}
        return await self._call("POST", "/v3/public/oauth/token", EtsyOAuthToken, form=form)

    async def exchange_authorization_code(
        self, *, code: str, code_verifier: str, redirect_uri: str
    ) -> EtsyOAuthToken:
        """Finish the OAuth 2 PKCE flow: trade the authorization code for access and refresh tokens."""
        form = {
            "grant_type": "authorization_code",
            "client_id": self._keystring,
            "redirect_uri": redirect_uri,
            "code": code,
            "code_verifier": code_verifier,
        }
        return await self._call("POST", "/v3/public/oauth/token", EtsyOAuthToken, form=form)

    async def create_draft_listing(
        self, shop_id: int, fields: Mapping[str, FormValue], *, access_token: str
    ) -> EtsyListing:
        """``createDraftListing``: a draft (never an active, paid) listing in the seller's shop.

        Args:
            shop_id: the seller's shop.
            fields: form fields; sequences (tags, materials, styles, image_ids...) become repeated keys.
            access_token: the OAuth access token, ``<user_id>.<token>``, with the ``listings_w`` scope.
        """
        missing = [name for name in DRAFT_REQUIRED_FIELDS if fields.get(name) in (None, "")]
        if missing:
            raise ValueError(f"createDraftListing needs {', '.join(missing)}")
        return await self._call(
            "POST",
            f"/v3/application/shops/{shop_id}/listings",
            EtsyListing,
            form=fields,
            bearer=access_token,
        )

    # -- transport --------------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        decode_as: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        form: Mapping[str, FormValue] | None = None,
        bearer: str | None = None,
    ) -> T:
        headers = {"x-api-key": self._api_key, "accept": "application/json"}
        content: str | None = None
        if form is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
            content = encode_form(form)
        if bearer is not None:
            headers["authorization"] = f"Bearer {bearer}"
        failures = 0
        rate_limited = 0
        while True:
            response: httpx.Response | None = None
            transport_error: httpx.TransportError | None = None
            async with self._limiter.slot() as slot:
                self.requests_sent += 1
                for tally in _tallies.get():
                    tally.requests += 1
                try:
                    response = await self._http.request(
                        method, path, params=params, content=content, headers=headers
                    )
                except httpx.TransportError as exc:
                    transport_error = exc
                else:
                    slot.headers = RateHeaders.from_headers(response.headers)
            if response is None:
                failures += 1
                if failures >= self._max_attempts:
                    raise EtsyUnavailable(
                        f"{method} {path} failed {failures} times; last error: "
                        f"{type(transport_error).__name__}: {transport_error}"
                    ) from transport_error
                await self._backoff(failures)
                continue
            if response.headers.get(SYNTHETIC_HEADER, "").lower() == "true":
                self.synthetic_responses += 1
                for tally in _tallies.get():
                    tally.synthetic += 1
            status = response.status_code
            if 200 <= status < 300:
                return self._decode(response, decode_as, path)
            if status == 429:
                rate_limited += 1
                await self._on_rate_limited(response, rate_limited)
                continue
            if status >= 500:
                failures += 1
                if failures >= self._max_attempts:
                    raise EtsyUnavailable(
                        f"{method} {path}: Etsy answered {status} {failures} times: {_error_text(response)}",
                        status=status,
                    )
                await self._backoff(failures)
                continue
            raise self._client_error(response, bearer=bearer is not None)

    async def _backoff(self, attempt: int) -> None:
        delay = full_jitter_backoff(
            attempt, base_s=self._backoff_base_s, cap_s=self._backoff_cap_s, rng=self._rng
        )
        await self._sleep(delay)

    async def _on_rate_limited(self, response: httpx.Response, times: int) -> None:
        """Wait out a 429 if allowed, else raise the matching error."""
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        wait = 1.0 if retry_after is None else retry_after
        rate = RateHeaders.from_headers(response.headers)
        too_long = wait > self._max_retry_after_s or times > self._max_rate_limit_retries
        if rate.remaining_today == 0 and too_long:
            limit = f" of {rate.limit_per_day}" if rate.limit_per_day is not None else ""
            raise EtsyDailyBudgetExhausted(
                f"Etsy daily budget exhausted: 0{limit} calls remain today; Etsy asks to retry after "
                f"{wait:g} s ({_error_text(response)})",
                remaining=0,
                retry_after=wait,
            )
        if too_long:
            raise EtsyRateLimited(
                wait, f"Etsy rate limit: retry after {wait:g} s ({_error_text(response)}); 429 #{times}"
            )
        await self._limiter.block_for(wait)

    @staticmethod
    def _client_error(response: httpx.Response, *, bearer: bool) -> EtsyError:
        status = response.status_code
        message = _error_text(response)
        if status in (401, 403):
            if bearer:
                return EtsyAuthError(
                    f"Etsy refused the request ({status}: {message})", status=status, hint=BEARER_FIX_HINT
                )
            return EtsyAuthError(f"Etsy refused the API key ({status}: {message})", status=status)
        if status == 404:
            path = response.request.url.path
            return EtsyNotFound(f"Etsy found nothing at {path}: {message}", status=status)
        return EtsyInvalidRequest(message, status=status)

    @staticmethod
    def _decode(response: httpx.Response, decode_as: type[T], path: str) -> T:
        try:
            return msgspec.json.decode(response.content, type=decode_as)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise EtsyMalformedResponse(
                f"{path}: response does not match {decode_as.__name__}: {exc}", status=response.status_code
            ) from exc
