"""Timings outside the pairs' rounds: the timing loop's own cost and the import time of a module.

The pairs themselves are timed by the measurement engine (``harness.measure.engine``: its round scheduler,
``measure_rounds``).
"""

from __future__ import annotations

import statistics
import subprocess
from pathlib import Path

from harness.measure.engine import MeasurePlan
from harness.measure.worker_client import WorkerClient


def measure_timer_overhead_ns(worker: WorkerClient, plan: MeasurePlan) -> float:
    """What the timing loop adds to each per-call value: the median of the worker's empty timed loop.

    Calibrated and repeated as a pair's values are (the plan's minimum time per value, its minimum rounds).
    """
    response = worker.overhead(
        loops=None, values=plan.min_rounds, warmups=plan.warmups, min_time_s=plan.min_time_s
    )
    return statistics.median(response.values_ns)


_IMPORT_PROBE = (
    "import time\nstart = time.perf_counter_ns()\nimport {module}\nprint(time.perf_counter_ns() - start)"
)


def measure_import_time_ns(python: Path, module: str, repeats: int, cwd: Path | None = None) -> float:
    """Median time to import ``module`` in a fresh interpreter (the start-up overhead a user pays)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if not module.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"not a module name: {module!r}")
    times_ns: list[float] = []
    for _ in range(repeats):
        completed = subprocess.run(
            [str(python), "-c", _IMPORT_PROBE.format(module=module)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=cwd,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"importing {module} failed: {completed.stderr.strip()[-500:]}")
        times_ns.append(float(completed.stdout.strip()))
    return statistics.median(times_ns)
