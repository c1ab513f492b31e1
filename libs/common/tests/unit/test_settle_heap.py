"""settle_heap: start-up objects leave the collector's view, young collections run less often, and garbage
cycles made afterwards are still collected.

Each case runs in a fresh interpreter: the collector's state is process-wide, and pytest's own must not
change under the other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

_PROBE = textwrap.dedent(
    """
    import gc, json, sys, weakref
    from etsygen_common.runtime import settle_heap

    def state():
        tracked = len(gc.get_objects())
        return {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count(), "tracked": tracked}

    before = state()
    settle_heap(int(sys.argv[1]))
    after = state()

    class Node:
        pass

    # A reference cycle made after settling: only the cyclic collector can free it.
    a, b = Node(), Node()
    a.other, b.other = b, a
    probe = weakref.ref(a)
    del a, b
    gc.collect()
    print(json.dumps({"before": before, "after": after, "cycle_freed": probe() is None}))
    """
)


def _settle(threshold: int) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """The collector before and after ``settle_heap(threshold)``, and whether a later cycle was freed."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(threshold)], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["before"], result["after"], result["cycle_freed"]


def test_settling_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    before, after, cycle_freed = _settle(10_000)
    assert before["frozen"] == 0
    # Everything start-up left (thousands of objects: modules, classes, functions) is frozen, so the
    # collector tracks almost nothing any more.
    assert after["frozen"] > 1_000
    assert after["tracked"] < before["tracked"] / 10
    assert after["threshold"] == [10_000, before["threshold"][1], before["threshold"][2]]
    assert cycle_freed


def test_zero_keeps_pythons_collector_as_it_is() -> None:
    before, after, cycle_freed = _settle(0)
    assert after["threshold"] == before["threshold"]
    assert after["frozen"] == before["frozen"] == 0
    assert cycle_freed
