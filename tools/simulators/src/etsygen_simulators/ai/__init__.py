"""Fake AI APIs (OpenAI chat completions, Anthropic messages) with switchable failures, for tests and demos.

``async with FakeAIServer() as server:`` in tests; ``python -m etsygen_simulators.ai --port 8799`` from a
shell.
"""

from etsygen_simulators.ai.server import INJECTABLE_VIOLATIONS, ControlRequest, FakeAIServer, SimulatorState

__all__ = ["INJECTABLE_VIOLATIONS", "ControlRequest", "FakeAIServer", "SimulatorState"]
