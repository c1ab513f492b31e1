"""The simulator's own HTTP behaviour: Etsy-style limits and errors, runtime controls, stats, CLI."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from etsygen_scraper.adapters.etsy_client import EtsyClient
from etsygen_simulators.etsy import Catalogue, RunningSimulator, SimulatorConfig, running_simulator

KEY = {"x-api-key": "raw:secret"}
SEARCH = "/v3/application/listings/active"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator(SimulatorConfig(per_second=3, per_day=8)) as running:
        yield running


@pytest.fixture
async def http(sim: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        yield client


async def test_responses_carry_rate_limit_headers_and_the_synthetic_label(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    response = await http.get(SEARCH, params={"keywords": "boho wall art", "limit": 2}, headers=KEY)

    assert response.status_code == 200
    assert response.headers["x-etsygen-synthetic"] == "true"
    assert response.headers["x-limit-per-second"] == "3"
    assert response.headers["x-remaining-this-second"] == "2"
    assert response.headers["x-limit-per-day"] == "8"
    assert response.headers["x-remaining-today"] == "7"
    # The count is the catalogue's own for the query (matching by relevance, not a niche's fixed supply).
    assert response.json()["count"] == sim.state.catalogue.search("boho wall art", limit=1, offset=0)[0] > 0


async def test_bursts_beyond_the_per_second_limit_get_429_with_retry_after(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    responses = await asyncio.gather(
        *(http.get(SEARCH, params={"keywords": "linen apron", "limit": 1}, headers=KEY) for _ in range(5))
    )

    refused = [response for response in responses if response.status_code == 429]
    assert len(refused) == 2
    assert all(float(response.headers["retry-after"]) >= 1 for response in refused)
    assert all("error" in response.json() for response in refused)
    assert sim.stats()["rejected_429"] == 2
    assert sim.stats()["max_per_second"] == 3


async def test_the_rolling_day_runs_out_and_a_reset_restores_it(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    sim.control(per_second=100)
    for _ in range(8):
        assert (await http.get(SEARCH, params={"keywords": "mug"}, headers=KEY)).status_code == 200

    spent = await http.get(SEARCH, params={"keywords": "mug"}, headers=KEY)
    assert spent.status_code == 429
    assert spent.headers["x-remaining-today"] == "0"
    assert float(spent.headers["retry-after"]) > 80_000
    assert "daily" in spent.json()["error"]

    reset = await http.post("/_sim/control", json={"reset_day": True})
    assert reset.status_code == 200
    assert (await http.get(SEARCH, params={"keywords": "mug"}, headers=KEY)).status_code == 200


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "Missing x-api-key"), ({"x-api-key": "just-a-keystring"}, "<keystring>:<shared_secret>")],
)
async def test_requests_without_a_full_api_key_are_refused(
    http: httpx.AsyncClient, headers: dict[str, str], message: str
) -> None:
    response = await http.get(SEARCH, params={"keywords": "mug"}, headers=headers)

    assert response.status_code == 401
    assert message in response.json()["error"]


async def test_limits_and_failures_are_controlled_at_runtime(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    settings = (
        await http.post("/_sim/control", json={"fail_5xx": 1, "latency_ms": 50, "per_second": 20})
    ).json()
    assert (settings["fail_5xx"], settings["latency_ms"], settings["per_second"]) == (1, 50, 20)

    started = time.monotonic()
    failed = await http.get(SEARCH, params={"keywords": "mug"}, headers=KEY)
    assert failed.status_code == 500
    assert failed.json() == {"error": "Internal server error (injected by simulator control)"}
    assert time.monotonic() - started >= 0.05

    assert (await http.post("/_sim/control", json={"no_such_knob": 1})).status_code == 400
    stats = (await http.get("/_sim/stats")).json()
    assert stats["injected_5xx"] == 1
    assert stats["per_second_limit"] == 20
    assert stats["synthetic"] is True


async def test_etsy_style_errors_for_bad_parameters_and_unknown_routes(http: httpx.AsyncClient) -> None:
    bad_limit = await http.get(SEARCH, params={"keywords": "mug", "limit": 500}, headers=KEY)
    no_ids = await http.get("/v3/application/listings/batch", headers=KEY)
    unknown = await http.get("/v3/application/nowhere", headers=KEY)

    assert bad_limit.status_code == 400
    assert "limit" in bad_limit.json()["error"]
    assert no_ids.status_code == 400
    assert unknown.status_code == 404
    assert "error" in unknown.json()


async def test_keywords_endpoint_lists_the_built_in_niches(http: httpx.AsyncClient) -> None:
    body = (await http.get("/_sim/keywords")).json()

    assert body["synthetic"] is True
    assert len(body["keywords"]) >= 30
    assert {"keyword", "supply", "median_price", "demand"} <= set(body["keywords"][0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_cli_serves_the_simulator_until_stopped() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "etsygen_simulators.etsy", "--port", str(port), "--per-second", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=base_url) as http:
            while True:
                try:
                    if (await http.get("/_sim/stats")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                assert time.monotonic() < deadline, "simulator CLI did not start within 30 s"
                await asyncio.sleep(0.1)
        async with EtsyClient("cli:secret", base_url=base_url) as client:
            page = await client.search_active("custom star map print", limit=5)
        expected, _ = Catalogue(seed=7, epoch=0).search("custom star map print", limit=1, offset=0)
        assert page.count == expected > 0
        assert client.daily_budget.limit == 10_000
    finally:
        process.terminate()
        process.wait(timeout=10)
