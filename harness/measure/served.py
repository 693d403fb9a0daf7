"""Which side ``harness.functions.fallback`` serves on each timed workload: one pass over each batch.

Tells the reader whether the timed Rust path is the one users get (the fallback routes arguments Rust does
not support to Python).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from harness.functions import fallback
from harness.functions.pairs.workload_types import Workload, prepare
from harness.measure.parity import capture


def served_calls(workloads: Iterable[tuple[str, Workload]], scratch: Path, seed: int) -> dict[str, int]:
    """``"function/impl"`` -> calls the fallback served with that side, over each pair's batch.

    Outcomes are ignored: parity was checked already. A function the fallback does not route (a pair
    registered with ``--pairs``) is skipped.
    """
    fallback.reset_served_counts()
    for function, workload in workloads:
        if function not in fallback.FUNCTIONS:
            continue
        prepared = prepare(workload, scratch, seed)
        try:
            dispatch = getattr(fallback, function)
            for args in prepared.batch:
                capture(partial(dispatch, *args))
        finally:
            prepared.close()
    return {
        f"{function}/{impl}": calls
        for function, by_impl in fallback.served_counts().items()
        for impl, calls in by_impl.items()
    }
