"""EtsyClient behaviour against a scripted transport: headers, retries, 429s and typed errors."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs

import httpx
import msgspec
import pytest

from etsygen_scraper.adapters.etsy_client import (
    EtsyClient,
    encode_form,
    full_jitter_backoff,
    parse_retry_after,
    tally_calls,
)
from etsygen_scraper.adapters.etsy_errors import (
    EtsyAuthError,
    EtsyDailyBudgetExhausted,
    EtsyInvalidRequest,
    EtsyMalformedResponse,
    EtsyNotFound,
    EtsyRateLimited,
    EtsyUnavailable,
)
from etsygen_scraper.adapters.fetcher import fetch_keyword

LISTING = {
    "listing_id": 1,
    "shop_id": 2,
    "title": "Linen Apron",
    "price": {"amount": 3600, "divisor": 100, "currency_code": "USD"},
}
PAGE = {"count": 1, "results": [LISTING]}
RATE = {"x-limit-per-second": "10", "x-remaining-this-second": "9", "x-limit-per-day": "500"}


def reply(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=msgspec.json.encode(body), headers={**RATE, **headers})


class Script:
    """Answers requests from a list of responses (the last one repeats) and records them."""

    def __init__(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses[min(len(self.requests), len(self.responses)) - 1]
        return answer(request) if callable(answer) else answer


def client_for(script: Script, sleeps: list[float] | None = None, **options: object) -> EtsyClient:
    recorded = sleeps if sleeps is not None else []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    return EtsyClient(
        "keystring:secret",
        transport=httpx.MockTransport(script),
        sleep=fake_sleep,
        rng=random.Random(1),
        **options,  # type: ignore[arg-type]
    )


async def test_every_call_sends_the_api_key_with_its_shared_secret() -> None:
    script = Script(reply(200, PAGE))
    async with client_for(script) as client:
        await client.search_active("linen apron")

    request = script.requests[0]
    assert request.headers["x-api-key"] == "keystring:secret"
    assert request.url.path == "/v3/application/listings/active"
    assert dict(request.url.params) == {
        "keywords": "linen apron",
        "limit": "100",
        "offset": "0",
        "sort_on": "score",
    }


async def test_search_sends_price_and_taxonomy_filters() -> None:
    script = Script(reply(200, PAGE))
    async with client_for(script) as client:
        await client.search_active(
            "mug", limit=50, offset=200, min_price=10, max_price=19.99, taxonomy_id=1097
        )

    params = dict(script.requests[0].url.params)
    assert params["min_price"] == "10.00"
    assert params["max_price"] == "19.99"
    assert params["taxonomy_id"] == "1097"


async def test_batch_sends_comma_separated_ids_and_includes() -> None:
    script = Script(reply(200, PAGE))
    async with client_for(script) as client:
        await client.get_listings_batch([3, 1, 3, 2])

    params = dict(script.requests[0].url.params)
    assert params == {"listing_ids": "3,1,2", "includes": "Shop,Images"}


async def test_batch_refuses_more_than_100_ids() -> None:
    async with client_for(Script(reply(200, PAGE))) as client:
        with pytest.raises(ValueError, match="between 1 and 100"):
            await client.get_listings_batch(range(1, 102))


async def test_review_count_uses_etsys_count_and_first_page_ratings() -> None:
    body = {"count": 42, "results": [{"listing_id": 9, "rating": 5}, {"listing_id": 9, "rating": 3}]}
    script = Script(reply(200, body))
    async with client_for(script) as client:
        window = await client.count_reviews(9, 1_760_000_000)

    assert (window.count, window.ratings) == (42, [5, 3])
    assert dict(script.requests[0].url.params) == {"limit": "100", "offset": "0", "min_created": "1760000000"}


async def test_server_errors_are_retried_with_jittered_backoff() -> None:
    script = Script(reply(503, {"error": "busy"}), reply(500, {"error": "oops"}), reply(200, PAGE))
    sleeps: list[float] = []
    async with client_for(script, sleeps, backoff_base_s=1.0) as client:
        page = await client.search_active("apron")

    assert page.count == 1
    assert len(script.requests) == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1.0
    assert 0 <= sleeps[1] <= 2.0


async def test_persistent_server_errors_give_up_after_max_attempts() -> None:
    script = Script(reply(500, {"error": "down"}))
    async with client_for(script, max_attempts=3) as client:
        with pytest.raises(EtsyUnavailable, match="500 3 times: down"):
            await client.get_shop(2)
    assert len(script.requests) == 3


async def test_timeouts_are_retried() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    script = Script(time_out, reply(200, {"shop_id": 2, "shop_name": "SynthShop"}))
    async with client_for(script) as client:
        shop = await client.get_shop(2)

    assert shop.shop_name == "SynthShop"
    assert len(script.requests) == 2


async def test_short_retry_after_is_waited_out() -> None:
    script = Script(reply(429, {"error": "slow down"}, **{"retry-after": "0.2"}), reply(200, PAGE))
    async with client_for(script) as client:
        started = time.monotonic()
        await client.search_active("apron")
        waited = time.monotonic() - started

    assert len(script.requests) == 2
    assert waited >= 0.2


async def test_long_retry_after_raises_rate_limited_with_the_wait() -> None:
    script = Script(reply(429, {"error": "slow down"}, **{"retry-after": "120"}))
    async with client_for(script, max_retry_after_s=30) as client:
        with pytest.raises(EtsyRateLimited) as raised:
            await client.search_active("apron")

    assert raised.value.retry_after == 120
    assert len(script.requests) == 1


async def test_429_with_no_calls_left_today_is_daily_budget_exhausted() -> None:
    script = Script(
        reply(429, {"error": "daily limit"}, **{"retry-after": "86400", "x-remaining-today": "0"})
    )
    async with client_for(script) as client:
        with pytest.raises(EtsyDailyBudgetExhausted, match="daily budget exhausted") as raised:
            await client.search_active("apron")

    assert raised.value.retry_after == 86_400


async def test_refused_key_explains_the_expected_form() -> None:
    script = Script(reply(401, {"error": "Invalid API key"}))
    async with client_for(script) as client:
        with pytest.raises(EtsyAuthError) as raised:
            await client.search_active("apron")

    assert "Invalid API key" in str(raised.value)
    assert "ETSY_API_KEY" in str(raised.value)
    assert "keystring" in raised.value.hint


async def test_refused_bearer_token_says_to_refresh_it() -> None:
    script = Script(reply(403, {"error": "insufficient scope"}))
    fields = {
        "quantity": 1,
        "title": "t",
        "description": "d",
        "price": 9.5,
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1,
    }
    async with client_for(script) as client:
        with pytest.raises(EtsyAuthError, match="refresh the OAuth access token"):
            await client.create_draft_listing(5, fields, access_token="12.abc")


async def test_not_found_and_invalid_requests_carry_etsys_message() -> None:
    script = Script(reply(404, {"error": "Shop 2 not found"}), reply(400, {"error": "offset too large"}))
    async with client_for(script) as client:
        with pytest.raises(EtsyNotFound, match="Shop 2 not found"):
            await client.get_shop(2)
        with pytest.raises(EtsyInvalidRequest, match="offset too large") as raised:
            await client.search_active("apron", offset=20_000)
    assert raised.value.status == 400


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"count": "many", "results": []}', b'{"count": 1, "results": [{"listing_id": 1}]}'],
)
async def test_bodies_that_do_not_match_the_schema_are_malformed(body: bytes) -> None:
    script = Script(httpx.Response(200, content=body, headers=RATE))
    async with client_for(script) as client:
        with pytest.raises(EtsyMalformedResponse, match="EtsyListingsPage"):
            await client.search_active("apron")


async def test_draft_listing_is_form_encoded_with_repeated_array_keys() -> None:
    draft = {**LISTING, "state": "draft"}
    script = Script(reply(201, draft))
    fields = {
        "quantity": 1,
        "title": "Linen Apron",
        "description": "d",
        "price": 36.0,
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1081,
        "tags": ["apron", "linen"],
        "is_supply": False,
    }
    async with client_for(script) as client:
        listing = await client.create_draft_listing(5, fields, access_token="12.token")

    request = script.requests[0]
    assert listing.state == "draft"
    assert request.method == "POST"
    assert request.url.path == "/v3/application/shops/5/listings"
    assert request.headers["authorization"] == "Bearer 12.token"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert form["tags"] == ["apron", "linen"]
    assert form["is_supply"] == ["false"]


async def test_draft_listing_needs_every_required_field() -> None:
    partial = {"quantity": 1, "title": "t", "description": "d", "price": 1}
    async with client_for(Script(reply(201, LISTING))) as client:
        with pytest.raises(ValueError, match="who_made, when_made, taxonomy_id"):
            await client.create_draft_listing(5, partial, access_token="1.x")


async def test_refresh_token_grant_is_posted_with_the_keystring_as_client_id() -> None:
    token = {"access_token": "12.a", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "12.r"}
    script = Script(reply(200, token))
    async with client_for(script) as client:
        refreshed = await client.refresh_access_token("12.old")

    assert refreshed.access_token == "12.a"
    form = parse_qs(script.requests[0].content.decode())
    assert form == {"grant_type": ["refresh_token"], "client_id": ["keystring"], "refresh_token": ["12.old"]}


async def test_daily_budget_is_exposed_from_headers() -> None:
    script = Script(reply(200, PAGE, **{"x-remaining-today": "321"}))
    async with client_for(script) as client:
        assert client.daily_budget.remaining is None
        await client.search_active("apron")
        budget = client.daily_budget

    assert (budget.limit, budget.remaining) == (500, 321)


async def test_tally_counts_retries_and_synthetic_labels() -> None:
    script = Script(reply(500, {"error": "x"}), reply(200, PAGE, **{"x-etsygen-synthetic": "true"}))
    async with client_for(script) as client:
        with tally_calls() as tally:
            await client.search_active("apron")

    assert (tally.requests, tally.synthetic) == (2, 1)


async def test_fetch_refuses_a_job_that_cannot_fit_before_spending_a_call() -> None:
    script = Script(reply(200, PAGE, **{"x-remaining-today": "10"}))
    async with client_for(script) as client:
        await client.search_active("warm up")
        with pytest.raises(EtsyDailyBudgetExhausted, match="needs 30 calls, 10 remain today") as raised:
            await fetch_keyword(client, "boho wall art", 500, top_n_reviews=20)

    assert len(script.requests) == 1
    assert (raised.value.needed, raised.value.remaining) == (30, 10)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)

    assert parse_retry_after("7") == 7
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_full_jitter_under_a_doubling_cap() -> None:
    rng = random.Random(3)
    delays = [full_jitter_backoff(attempt, base_s=0.5, cap_s=4.0, rng=rng) for attempt in range(1, 8)]

    caps = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert all(0 <= delay <= cap for delay, cap in zip(delays, caps, strict=True))


def test_form_encoding_repeats_array_keys_and_skips_missing_values() -> None:
    assert encode_form({"tags": ["a b", "c"], "price": 9.5, "skip": None, "ok": True}) == (
        "tags=a+b&tags=c&price=9.5&ok=true"
    )
