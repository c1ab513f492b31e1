"""Chaos suite: research jobs through all four services while they are killed and their stores restart.

``make chaos`` (or ``uv run python tests/chaos/chaos.py --jobs 200``) runs the full version; the test suite
runs a bounded one. The stack is private to the run: embedded PostgreSQL, a Redis server, a Tansu broker,
the marketplace simulator and the fake AI server (OpenAI protocol, concepts composed like the built-in
provider), and the four services as ``etsygen run <service>`` processes.

While jobs are submitted and processed:
- every service is SIGKILLed at random moments (``--kills`` times each) and restarted at once;
- Redis and PostgreSQL are each restarted once;
- the AI provider answers 500 for a window (the generator's breaker opens and consumption pauses);
- poison records (an undecodable body, a schema violation) are injected into pipeline topics;
- the broker is SIGKILLed ``--broker-kills`` times and started again, empty (memory storage), on the same
  port: every service's heartbeat watch notices the loss within seconds, re-creates its topics and restarts
  its consumer, and the gateway re-drives every unfinished keyword. The first broker kill waits until the
  gateway has stored the dead letters of every poison record: a kill before that would lose the poison
  records or their dead letters with the broker's storage, and the dead-letter check could not hold.

The report checks: every job reaches a terminal state; exactly one product per accepted concept (the
generator's products and the gateway's read model agree, none missing, none duplicated); the dead letters
are exactly the injected poison records (one per consuming group); and it gives the longest recovery time
after a kill (SIGKILL until the restarted process answers ``/health/ready``). Per broker kill it gives the
recovery times defined in ``chaos_report.BrokerKill``, and for the run the Etsy requests (the simulator's
``/_sim/stats``) and AI requests (the fake AI server's ``/_stats``) spent. ``--compare`` runs the same seed
and jobs again without broker kills and prints the extra calls the broker kills cost (re-drives of finished
stages answer from stored output, so those should be near zero; a stage that was mid-work redoes it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from chaos_report import BrokerKill, Report, measure_broker_kills

from etsygen_common.devstack import (
    EmbeddedPostgres,
    RedisServer,
    TansuBroker,
    free_port,
    stop_process,
    wait_for_port,
)
from etsygen_simulators.etsy import BUILT_IN_PROFILES

SERVICES = ("gateway", "scraper", "analyzer", "generator")
TERMINAL = {"succeeded", "partially_failed", "failed", "cancelled"}
KEYWORDS = [
    "personalized dog collar",
    "minimalist gold necklace",
    "boho wall art",
    "custom name sign",
    "crochet baby blanket",
    "leather wallet",
    "soy candle",
    "ceramic mug",
    "wedding guest book",
    "vintage tshirt",
    "pet portrait",
    "birth flower necklace",
    "macrame plant hanger",
    "wooden toy",
]
NICHES = [profile.keyword for profile in BUILT_IN_PROFILES]
"""The simulator catalogue's niche keywords, which the jobs research."""
# Which consumer groups read each topic (and so dead-letter a poison record injected there).
CONSUMERS = {
    "etsygen.research.requested.v1": ["etsygen-scraper"],
    "etsygen.listings.scraped.v1": ["etsygen-analyzer", "etsygen-gateway"],
    "etsygen.trends.scored.v1": ["etsygen-generator", "etsygen-gateway"],
}


def log(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Service:
    name: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0


class Chaos:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.rng = random.Random(args.seed)
        self.report = Report()
        self.pg = EmbeddedPostgres(workdir / "postgres")
        self.redis = RedisServer(workdir / "redis")
        self.kafka = TansuBroker(log_path=workdir / "tansu.log")
        self.helpers: list[subprocess.Popen[bytes]] = []
        self.services = {name: Service(name, free_port()) for name in SERVICES}
        self.env: dict[str, str] = {}
        self.api_key = ""
        self.ai_url = ""
        self.sim_url = ""
        self.expected_dead: list[tuple[str, str]] = []
        self.dead_letters_seen = False

    # --- the stack ------------------------------------------------------------------------------------------

    def start_stack(self) -> None:
        self.pg.start()
        self.redis.start()
        self.kafka.start()
        sim_port, ai_port = free_port(), free_port()
        self.helpers.append(
            self._spawn_helper(
                [
                    sys.executable,
                    "-m",
                    "etsygen_simulators.etsy",
                    "--port",
                    str(sim_port),
                    "--per-second",
                    "400",
                    "--per-day",
                    "10000000",
                ],
                "simulator",
            )
        )
        self.helpers.append(
            self._spawn_helper([sys.executable, "-m", "etsygen_simulators.ai", "--port", str(ai_port)], "ai")
        )
        wait_for_port(sim_port, 30)
        wait_for_port(ai_port, 30)
        self.ai_url = f"http://127.0.0.1:{ai_port}"
        self.sim_url = f"http://127.0.0.1:{sim_port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "KAFKA_"))},
            "DATABASE_URL": self.pg.url,
            "DATABASE_POOL_MAX": "5",
            "REDIS_URL": self.redis.url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            "KAFKA_PARTITIONS": "3",
            "ETSY_API_KEY": "chaos-keystring:chaos-secret",
            "ETSY_BASE_URL": f"http://127.0.0.1:{sim_port}",
            "ETSY_PER_SECOND": "200",
            "SCRAPER_TOP_N_REVIEWS": "3",
            "AI_PROVIDER": "openai",
            "AI_BASE_URL": f"{self.ai_url}/v1",
            "AI_API_KEY": "chaos",
            "AI_BREAKER_RESET_S": "3",
            "AI_TIMEOUT_S": "5",
            # The suite checks delivery, not the near-duplicate guard: with 14 keywords for one owner it would
            # reject nearly every repeat. Only identical concepts count as duplicates here.
            "GENERATOR_DUPLICATE_TITLE": "1.0",
            "GENERATOR_DUPLICATE_TAGS": "1.0",
            "GENERATOR_DUPLICATE_COMBINED": "1.0",
            "GATEWAY_COOKIE_SECURE": "false",  # plain http on loopback: httpx sends no Secure cookies
            "GATEWAY_RATE_API_LIMIT": "1000000",
            "GATEWAY_RATE_AUTH_LIMIT": "1000",
            "GATEWAY_RATE_AI_LIMIT": "1000000",  # jobs spend the AI tier by the concepts they may generate
            "OUTBOX_POLL_INTERVAL_S": "0.2",
            "SERVICE_SHUTDOWN_GRACE_S": "5",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "ETSYGEN_ENV_FILE": os.devnull,
        }
        for svc in self.services.values():
            self.start_service(svc)
        for svc in self.services.values():
            self.wait_ready(svc, 180)
        log(f"stack up: {', '.join(f'{s.name}:{s.port}' for s in self.services.values())}")

    def _spawn_helper(self, argv: list[str], name: str) -> subprocess.Popen[bytes]:
        out = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def start_service(self, svc: Service) -> None:
        out = open(self.workdir / f"{svc.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        svc.proc = subprocess.Popen(
            [sys.executable, "-m", "etsygen_cli.main", "run", svc.name],
            env={**self.env, "SERVICE_PORT": str(svc.port)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, svc: Service, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if httpx.get(f"http://127.0.0.1:{svc.port}/health/ready", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if svc.proc is not None and svc.proc.poll() is not None:
                self.start_service(svc)  # it died while starting (a store was restarting): start it again
            time.sleep(0.2)
        raise TimeoutError(
            f"{svc.name} not ready within {timeout} s (see {self.workdir / (svc.name + '.log')})"
        )

    def stop_all(self) -> None:
        for svc in self.services.values():
            if svc.proc is not None:
                stop_process(svc.proc, 15)
        for helper in self.helpers:
            stop_process(helper, 5)
        for store in (self.kafka, self.redis, self.pg):
            with contextlib.suppress(Exception):
                store.stop()

    # --- the client -----------------------------------------------------------------------------------------

    def gateway(self, path: str) -> str:
        return f"http://127.0.0.1:{self.services['gateway'].port}{path}"

    def make_admin_key(self) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "etsygen_cli.main",
                "users",
                "create-admin",
                "chaos@example.com",
                "--password",
                "chaos-password-123",
            ],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        with httpx.Client(timeout=10) as client:
            login = client.post(
                self.gateway("/v1/auth/login"),
                json={"email": "chaos@example.com", "password": "chaos-password-123"},
            )
            login.raise_for_status()
            csrf = login.json()["csrf_token"]
            key = client.post(
                self.gateway("/v1/api-keys"),
                headers={"x-csrf-token": csrf},
                json={"name": "chaos", "scopes": ["read", "write", "generate", "admin"]},
            )
            key.raise_for_status()
            self.api_key = key.json()["key"]

    async def submit_jobs(self, count: int) -> None:
        headers = {"authorization": f"Bearer {self.api_key}"}
        async with httpx.AsyncClient(timeout=10, headers=headers) as client:
            for i in range(count):
                # The simulator's own niches: the analyzer scores only listings about the keyword, so an
                # invented "<modifier> <niche>" is often insufficient data and generates nothing. A niche
                # researched again links to its product; the run's distinct niches give the new concepts.
                keywords = self.rng.sample(NICHES, self.args.keywords)
                body = {
                    "keywords": keywords,
                    "listing_budget": 8,
                    "generation": {"concepts_per_niche": 1, "min_score": 0.0, "max_risk": "high"},
                }
                idempotency = f"chaos-{self.args.seed}-{i}"
                for _attempt in range(120):  # the gateway may be down: retry with the same Idempotency-Key
                    try:
                        r = await client.post(
                            self.gateway("/v1/jobs"), json=body, headers={"idempotency-key": idempotency}
                        )
                        if r.status_code == 202:
                            self.report.jobs_accepted += 1
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.5)
                await asyncio.sleep(self.args.submit_interval)

    # --- faults ---

    async def kill_and_restart(self, svc: Service) -> None:
        assert svc.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(svc.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.to_thread(svc.proc.wait, 10)
        self.start_service(svc)
        await asyncio.to_thread(self.wait_ready, svc, 180)
        recovery = time.monotonic() - killed
        self.report.kills[svc.name] = self.report.kills.get(svc.name, 0) + 1
        self.report.recovery_s.setdefault(svc.name, []).append(recovery)
        log(f"killed {svc.name}; ready again after {recovery:.1f} s")

    async def kill_broker(self) -> None:
        """SIGKILL the broker and start it fresh (memory storage: empty) on the same port."""
        if not self.dead_letters_seen:
            await self.wait_dead_letters(180)
        await asyncio.to_thread(self.kafka.kill)
        self.report.broker_kills.append(BrokerKill(at=datetime.now(UTC)))
        await asyncio.sleep(1)
        await asyncio.to_thread(self.kafka.start)
        log("killed the broker; started it again, empty, on the same port")

    async def query(self, sql: str) -> list[Any]:
        """Rows of one query on a connection of its own (PostgreSQL may have restarted since the last)."""
        conn = await asyncpg.connect(self.pg.url)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    async def wait_dead_letters(self, timeout: float) -> None:
        """Wait until the gateway stored a dead letter for every poison record (see the module docstring)."""
        want = set(self.expected_dead)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = await self.query("SELECT event_id, consumer_group FROM gateway.dead_letters")
            if want <= {(r["event_id"], r["consumer_group"]) for r in rows}:
                self.dead_letters_seen = True
                return
            await asyncio.sleep(1)
        self.report.problems.append("the poison records' dead letters were not stored before the broker kill")

    async def restart_store(self, name: str) -> None:
        store = self.redis if name == "redis" else self.pg
        await asyncio.to_thread(store.stop)
        await asyncio.sleep(2)
        await asyncio.to_thread(store.start)
        self.report.store_restarts.append(name)
        log(f"restarted {name}")

    async def ai_outage(self, seconds: float) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await client.post(f"{self.ai_url}/_control", json={"mode": "500"})
            log(f"AI provider down for {seconds:.0f} s")
            await asyncio.sleep(seconds)
            await client.post(f"{self.ai_url}/_control", json={"mode": "ok"})
        self.report.ai_outage_s += seconds
        log("AI provider back")

    async def inject_poison(self) -> list[tuple[str, str]]:
        """Publish poison records; return the (ce_id, group) pairs that must be dead-lettered."""
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka.bootstrap, acks="all")
        await producer.start()
        expected: list[tuple[str, str]] = []
        try:
            poisons = [
                ("etsygen.research.requested.v1", b"this is not json"),
                ("etsygen.listings.scraped.v1", json.dumps({"keyword": "no job id"}).encode()),
                ("etsygen.trends.scored.v1", json.dumps({"job_id": 5, "owner_id": None}).encode()),
            ]
            for topic, body in poisons:
                ce_id = f"poison-{uuid.uuid4()}"
                headers = [
                    ("ce_id", ce_id.encode()),
                    ("ce_type", topic.encode()),
                    ("ce_source", b"chaos"),
                    ("ce_specversion", b"1.0"),
                    ("content-type", b"application/json"),
                ]
                await producer.send_and_wait(topic, body, key=b"poison", headers=headers)
                expected.extend((ce_id, group) for group in CONSUMERS[topic])
                self.report.poison_injected += 1
        finally:
            await producer.stop()
        log(f"injected {self.report.poison_injected} poison records")
        return expected

    async def chaos_schedule(self, duration: float, submit_time: float) -> None:
        events: list[tuple[float, str]] = []
        for name in SERVICES:
            events += [
                (self.rng.uniform(0.05, 0.9) * duration, f"kill:{name}") for _ in range(self.args.kills)
            ]
        events += [
            (self.rng.uniform(0.2, 0.5) * duration, "store:redis"),
            (self.rng.uniform(0.5, 0.8) * duration, "store:postgres"),
            (self.rng.uniform(0.3, 0.6) * duration, "ai"),
        ]
        # While jobs are being submitted, so work is in flight at each kill; drawn from their own generator,
        # so a run with and one without broker kills share every other fault's moment and the jobs' keywords.
        broker_rng = random.Random(f"{self.args.seed}-broker")
        events += [
            (broker_rng.uniform(0.1, 0.9) * submit_time, "broker") for _ in range(self.args.broker_kills)
        ]
        started = time.monotonic()
        for at, what in sorted(events):
            await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
            kind, _, target = what.partition(":")
            if kind == "broker":
                await self.kill_broker()
            elif kind == "kill":
                await self.kill_and_restart(self.services[target])
            elif kind == "store":
                await self.restart_store(target)
                for svc in self.services.values():  # services survive a store restart; check they are ready
                    await asyncio.to_thread(self.wait_ready, svc, 180)
            else:
                asyncio.get_running_loop().create_task(self.ai_outage(self.args.ai_outage))

    # --- the verdict ---

    async def wait_terminal(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        next_report = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = await self.query("SELECT status, count(*) AS n FROM gateway.jobs GROUP BY status")
            statuses = {r["status"]: r["n"] for r in rows}
            total = sum(statuses.values())
            done = sum(n for s, n in statuses.items() if s in TERMINAL)
            if total >= self.report.jobs_accepted and done == total:
                log(f"every job terminal after {timeout - (deadline - time.monotonic()):.1f} s: {statuses}")
                return
            if time.monotonic() >= next_report:
                log(f"waiting: {statuses}")
                next_report = time.monotonic() + 20
            await asyncio.sleep(2)
        self.report.problems.append("not every job reached a terminal state in time")

    async def verify(self, expected_dead: list[tuple[str, str]]) -> None:
        r = self.report
        conn = await asyncpg.connect(self.pg.url)
        try:
            statuses = {
                row["status"]: row["n"]
                for row in await conn.fetch("SELECT status, count(*) AS n FROM gateway.jobs GROUP BY status")
            }
            r.job_statuses = statuses
            r.jobs_total = sum(statuses.values())
            r.jobs_terminal = sum(n for s, n in statuses.items() if s in TERMINAL)
            generator = {
                row["product_id"]
                for row in await conn.fetch("SELECT product_id::text FROM generator.products")
            }
            gateway_rows = await conn.fetch("SELECT id FROM gateway.products")
            gateway = {row["id"] for row in gateway_rows}
            r.products_generator = len(generator)
            r.products_gateway = len(gateway_rows)
            per_concept = await conn.fetch(
                "SELECT job_id, keyword, concept_index, count(*) AS n FROM generator.products "
                "GROUP BY 1, 2, 3 HAVING count(*) > 1"
            )
            r.products_duplicated = len(per_concept) + (len(gateway_rows) - len(gateway))
            r.products_missing = len(generator ^ gateway)
            r.concepts_generated = await conn.fetchval(
                "SELECT count(*) FROM gateway.keyword_outcomes WHERE outcome = 'generated'"
            )
            stored = await conn.fetch("SELECT event_id, consumer_group FROM gateway.dead_letters")
            await measure_broker_kills(conn, r.broker_kills)
        finally:
            await conn.close()
        got = {(row["event_id"], row["consumer_group"]) for row in stored}
        want = set(expected_dead)
        r.dead_letters_stored = len(stored)
        r.dead_letters_expected = len(want)
        r.dead_letters_unexpected = sorted(f"{e}@{g}" for e, g in got - want)
        r.dead_letters_missing = sorted(f"{e}@{g}" for e, g in want - got)
        if r.jobs_terminal != r.jobs_total or r.jobs_total < r.jobs_accepted:
            r.problems.append(f"{r.jobs_total - r.jobs_terminal} jobs not terminal")
        if r.products_missing or r.products_duplicated:
            r.problems.append("products missing or duplicated")
        if r.concepts_generated != r.products_generator:
            r.problems.append(f"{r.concepts_generated} accepted concepts but {r.products_generator} products")
        if r.dead_letters_unexpected or r.dead_letters_missing or len(stored) != len(want):
            r.problems.append("dead letters differ from the injected poison records")
        if len(r.broker_kills) < self.args.broker_kills:
            r.problems.append(f"{len(r.broker_kills)} broker kills, not {self.args.broker_kills}")
        for name in SERVICES:
            if r.kills.get(name, 0) < self.args.kills:
                r.problems.append(
                    f"{name} was killed {r.kills.get(name, 0)} times, fewer than {self.args.kills}"
                )

    async def run(self) -> Report:
        started = time.monotonic()
        await asyncio.to_thread(self.start_stack)
        await asyncio.to_thread(self.make_admin_key)
        expected_dead = self.expected_dead = await self.inject_poison()
        submit_time = self.args.jobs * self.args.submit_interval
        duration = max(self.args.duration, submit_time)
        await asyncio.gather(self.submit_jobs(self.args.jobs), self.chaos_schedule(duration, submit_time))
        log(f"{self.report.jobs_accepted} jobs accepted; waiting for every job to finish")
        await self.wait_terminal(self.args.settle_timeout)
        await asyncio.sleep(5)  # let the gateway store the last dead letters and read-model rows
        await self.verify(expected_dead)
        async with httpx.AsyncClient(timeout=10) as client:
            self.report.etsy_requests = (await client.get(f"{self.sim_url}/_sim/stats")).json()["requests"]
            self.report.ai_requests = (await client.get(f"{self.ai_url}/_stats")).json()["requests"]
        self.report.elapsed_s = time.monotonic() - started
        return self.report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--keywords", type=int, default=3, help="keywords per job")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs per service")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds over which faults are spread")
    parser.add_argument("--submit-interval", type=float, default=0.5, help="seconds between job submissions")
    parser.add_argument("--broker-kills", type=int, default=0, help="broker SIGKILLs (restarted empty)")
    parser.add_argument(
        "--compare", action="store_true", help="then run the same seed and jobs without broker kills"
    )
    parser.add_argument("--ai-outage", type=float, default=20.0, help="seconds the AI provider answers 500")
    parser.add_argument("--settle-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="keep logs and data here")
    return parser.parse_args(argv)


def run_chaos(argv: list[str] | None = None) -> Report:
    args = parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="etsygen-chaos-"))
    report = _run_once(args, workdir)
    if args.compare and args.broker_kills:
        log("the same seed and jobs again, without broker kills")
        report.baseline = _run_once(
            argparse.Namespace(**{**vars(args), "broker_kills": 0}), workdir / "baseline"
        )
    print(report.render(), flush=True)
    return report


def _run_once(args: argparse.Namespace, workdir: Path) -> Report:
    workdir.mkdir(parents=True, exist_ok=True)
    chaos = Chaos(args, workdir)
    try:
        report = asyncio.run(chaos.run())
    finally:
        chaos.stop_all()
    log(f"logs in {workdir}")
    return report


if __name__ == "__main__":
    sys.exit(0 if run_chaos().ok else 1)
