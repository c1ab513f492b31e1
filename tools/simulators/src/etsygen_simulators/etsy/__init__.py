"""Etsy marketplace simulator: Etsy-Open-API-v3-shaped responses from a synthetic, seeded catalogue.

Etsy cannot be reached from development or CI machines, so the real client runs against this instead (only
the base URL differs). Everything it serves is synthetic and labelled so (``x-etsygen-synthetic: true``).

Modules: ``profiles`` and ``vocabulary`` (data: the niches and the words), ``truth`` (the market a seed
draws, hidden from the API, and each niche's opportunity for a new seller), ``listings`` (a niche's
listings: prices, orders, text), ``text`` and ``search`` (matching a query by relevance), ``hashing`` and
``catalogue`` (the seeded resources), ``state`` (limits, faults, statistics), ``drafts`` and ``params``
(Etsy's request rules), ``app`` (the routes), ``server`` (in-process or blocking). ``docs/simulator.md``
describes the hidden truth and the benchmark that reads it.

Start it in tests with ``async with running_simulator(SimulatorConfig(...)) as sim:`` and point
``EtsyClient(base_url=sim.base_url)`` at it. From a shell:
``python -m etsygen_simulators.etsy --port 8787``.
"""

from etsygen_simulators.etsy.app import build_simulator_app
from etsygen_simulators.etsy.catalogue import Catalogue
from etsygen_simulators.etsy.profiles import BUILT_IN_PROFILES, KeywordProfile
from etsygen_simulators.etsy.server import RunningSimulator, run_simulator, running_simulator
from etsygen_simulators.etsy.state import Controls, SimulatorConfig, SimulatorState

__all__ = [
    "BUILT_IN_PROFILES",
    "Catalogue",
    "Controls",
    "KeywordProfile",
    "RunningSimulator",
    "SimulatorConfig",
    "SimulatorState",
    "build_simulator_app",
    "run_simulator",
    "running_simulator",
]
