"""A shutdown step that never ends, or fails, does not hold a service's stop."""

from __future__ import annotations

import asyncio

from etsygen_common.runtime import _bounded


async def test_a_step_that_never_ends_is_left_behind_after_its_time() -> None:
    never = asyncio.Event()
    assert await _bounded(never.wait(), 0.01, "a stuck step") is False  # waited at least 1 s, then went on


async def test_a_failing_step_is_reported_and_the_stop_goes_on() -> None:
    async def fails() -> None:
        raise ConnectionError("broker gone")

    assert await _bounded(fails(), 5, "a failing step") is False


async def test_a_step_that_ends_in_time_is_reported_done() -> None:
    assert await _bounded(asyncio.sleep(0), 5, "a quick step") is True
