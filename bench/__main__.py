"""Run the benchmarks, each in its own subprocess, and summarise them: ``python -m bench [names...]``.

Every benchmark script prints its own lines (streamed here with a ``[name]`` prefix) and, per measured figure,
one ``RESULT {json}`` line. A subprocess per script keeps memory figures honest and stops one crash from
hiding the others. The summary table lists each figure with its baseline, ratio, target and PASS/FAIL; the
same data goes to ``bench/results/latest.json``.

Exit status: 0 when every benchmark ran, even if a target was missed (the table says FAIL); 1 when a
benchmark crashed, timed out or printed no result; 2 for an unknown benchmark name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "latest.json"
RESULT_PREFIX = "RESULT "
BENCHMARKS: dict[str, str] = {
    "outbox": "bench_outbox.py",
    "scraper": "bench_scraper.py",
    "analyzer": "bench_analyzer.py",
    "generator": "bench_generator.py",
    "opportunity": "bench_opportunity.py",
    "gateway": "bench_gateway.py",  # written separately; run only when the file exists
}
DEFAULT_TIMEOUT_S = 420.0
INTERRUPT_GRACE_S = 30.0


@dataclass
class Run:
    """One benchmark script's run."""

    name: str
    script: Path
    returncode: int | None = None
    seconds: float = 0.0
    timed_out: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)

    @property
    def crashed(self) -> bool:
        return self.timed_out or self.returncode != 0 or not self.results or bool(self.bad_lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.name,
            "script": str(self.script.relative_to(REPO_ROOT)),
            "returncode": self.returncode,
            "seconds": round(self.seconds, 2),
            "timed_out": self.timed_out,
            "crashed": self.crashed,
            "results": self.results,
        }


def available() -> dict[str, Path]:
    """Benchmarks whose script exists, in run order."""
    return {name: BENCH_DIR / script for name, script in BENCHMARKS.items() if (BENCH_DIR / script).exists()}


def select(names: list[str]) -> dict[str, Path]:
    """The benchmarks named (``outbox``, ``bench_outbox`` or ``bench_outbox.py``), or all of them."""
    scripts = available()
    if not names:
        return scripts
    chosen: dict[str, Path] = {}
    for raw in names:
        name = raw.removesuffix(".py").removeprefix("bench/").removeprefix("bench_")
        if name not in scripts:
            known = ", ".join(scripts)
            raise SystemExit(f"unknown benchmark {raw!r}; available: {known}")
        chosen[name] = scripts[name]
    return chosen


def interrupt_then_kill(proc: subprocess.Popen[str], run: Run) -> None:
    """On timeout: SIGINT first (the script's cleanup drops its database and stops its broker), then kill."""
    run.timed_out = True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(INTERRUPT_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def run_one(name: str, script: Path, timeout: float) -> Run:
    run = Run(name=name, script=script)
    print(f"\n=== {name}: {script.relative_to(REPO_ROOT)} ===", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-u", str(script)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,  # its own process group, so a timeout can interrupt the script as a whole
    )
    timer = threading.Timer(timeout, interrupt_then_kill, args=(proc, run))
    timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            print(f"[{name}] {line}", flush=True)
            if line.startswith(RESULT_PREFIX):
                try:
                    run.results.append(json.loads(line.removeprefix(RESULT_PREFIX)))
                except json.JSONDecodeError:
                    run.bad_lines.append(line)
        run.returncode = proc.wait()
    except KeyboardInterrupt:
        interrupt_then_kill(proc, run)
        raise
    finally:
        timer.cancel()
        run.seconds = time.perf_counter() - started
    if run.crashed:
        reason = (
            "timed out"
            if run.timed_out
            else f"exit status {run.returncode}"
            if run.returncode
            else "no RESULT line"
        )
        print(f"[{name}] CRASHED ({reason}) after {run.seconds:.0f}s", flush=True)
    return run


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    number = float(value)
    text = f"{number:,.0f}" if abs(number) >= 100 else f"{number:,.2f}"
    return f"{text} {unit}".rstrip()


def summary(runs: list[Run]) -> str:
    header = ("benchmark", "measured", "baseline", "ratio", "target", "result", "time")
    rows: list[tuple[str, ...]] = []
    for run in runs:
        for index, r in enumerate(run.results):
            rows.append(
                (
                    str(r.get("name", run.name)),
                    fmt(r.get("value"), r.get("unit", "")),
                    fmt(r.get("baseline"), r.get("unit", "") if r.get("target_on") == "value" else ""),
                    fmt(r.get("ratio")),
                    str(r.get("target", "")),
                    "PASS" if r.get("passed") else "FAIL",
                    f"{run.seconds:.0f}s" if index == 0 else "",
                )
            )
        if run.crashed:
            reason = (
                "timeout" if run.timed_out else f"exit {run.returncode}" if run.returncode else "no result"
            )
            rows.append((run.name, "-", "-", "-", "-", f"CRASH ({reason})", f"{run.seconds:.0f}s"))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(tuple("-" * width for width in widths)), *map(line, rows)])


def write_json(runs: list[Run], started_at: datetime, seconds: float) -> None:
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "benchmarks": [run.to_json() for run in runs],
    }
    RESULTS_FILE.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all); see --list")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds one benchmark may take (default 420)",
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, script in available().items():
            print(f"{name:<10} {script.relative_to(REPO_ROOT)}")
        return 0
    try:
        chosen = select(args.names)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2

    started_at = datetime.now(UTC)
    started = time.perf_counter()
    runs = [run_one(name, script, args.timeout) for name, script in chosen.items()]
    elapsed = time.perf_counter() - started
    write_json(runs, started_at, elapsed)
    print(f"\n=== summary ({elapsed:.0f}s; {RESULTS_FILE.relative_to(REPO_ROOT)}) ===")
    print(summary(runs))
    crashed = [run.name for run in runs if run.crashed]
    if crashed:
        print(f"\ncrashed: {', '.join(crashed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
