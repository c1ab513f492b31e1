"""``python -m etsygen_simulators.etsy --port 8787``: serve the synthetic Etsy API until interrupted."""

from __future__ import annotations

import argparse
import os
import sys

from etsygen_simulators.etsy.server import run_simulator
from etsygen_simulators.etsy.state import SimulatorConfig

SEED_VARIABLE = "ETSY_SIM_SEED"
DEFAULT_SEED = 7


def default_seed() -> int:
    """The catalogue seed: ``$ETSY_SIM_SEED`` when set, else 7 (the default catalogue)."""
    raw = os.environ.get(SEED_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_SEED
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{SEED_VARIABLE} must be an integer seed, got {raw!r}") from None


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m etsygen_simulators.etsy",
        description="Etsy Open API v3 simulator serving a synthetic, seeded catalogue (no real Etsy data).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port to listen on (default 8787)")
    parser.add_argument(
        "--seed",
        type=int,
        default=default_seed(),
        help=f"catalogue seed: draws the market and its hidden truth (default ${SEED_VARIABLE}, else 7)",
    )
    parser.add_argument("--per-second", type=int, default=10, help="requests per second per app key")
    parser.add_argument("--per-day", type=int, default=10_000, help="requests per rolling day per app key")
    parser.add_argument("--epoch", type=int, default=None, help="unix time the catalogue is as of")
    parser.add_argument(
        "--access-log",
        action="store_true",
        default=os.environ.get("SIMULATOR_ACCESS_LOG", "") not in ("", "0"),
        help="log every request served (default: off, or $SIMULATOR_ACCESS_LOG=1)",
    )
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        seed=args.seed, per_second=args.per_second, per_day=args.per_day, epoch=args.epoch
    )
    sys.stderr.write(
        f"Etsy-Gen marketplace simulator (synthetic data, seed {args.seed}) on http://{args.host}:{args.port}\n"
        f"  point the client at it with ETSY_BASE_URL=http://{args.host}:{args.port}\n"
    )
    run_simulator(args.host, args.port, config, access_log=args.access_log)


if __name__ == "__main__":
    main()
