"""Interleaved timing of one pair over several worker processes, with adaptive rounds.

pyperf's rules, with one change that matters for a comparison: the two sides are measured side by side.

- The loop count of each side is calibrated per pair (pyperf: double until one value >= min_time) in the
  first worker, twice, keeping the larger count; every later value of that side uses the same count.
- A round is one Rust value and one Python value taken back to back in the same worker; which side goes first
  alternates from one round to the next *within each worker* (A B, B A, A B ...), so drift hits both sides.
- Rounds rotate over several worker processes, so differences between processes (memory layout, ASLR) show
  up in the values instead of biasing one run. The first use of a side in a worker is preceded by warm-up
  values, which are kept apart and never enter the statistics.
- Rounds are added, one cycle over the workers at a time, until both ends of the speedup's 95% interval lie
  within the target reach of the value (a percentile interval is often lopsided: the farther end decides),
  the pair's time budget is spent, or the round cap is reached; the interval reached is in the Speedup.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.pairs.workload_types import Mode
from harness.results import Impl, Speedup, TimingSample
from harness.stats import TARGET_RELATIVE_REACH, paired_speedup
from harness.worker_client import WorkerClient


@dataclass(frozen=True)
class TimingPlan:
    """How hard to measure each pair."""

    processes: int  # worker processes the rounds rotate over
    min_rounds: int
    max_rounds: int
    warmups: int  # warm-up values per side, the first time a worker runs that side
    min_time_s: float  # calibration target for one value
    pair_budget_s: float  # stop adding rounds once a pair has taken this long (min_rounds still apply)
    # Stop once both ends of the interval lie this close to the value (the farther end decides).
    target_relative_reach: float = TARGET_RELATIVE_REACH
    bootstrap_resamples: int = 2000

    def __post_init__(self) -> None:
        if self.processes < 1 or self.min_rounds < 2 or self.max_rounds < self.min_rounds:
            raise ValueError("need processes >= 1, min_rounds >= 2 and max_rounds >= min_rounds")
        if (
            self.warmups < 0
            or self.min_time_s <= 0
            or self.pair_budget_s <= 0
            or self.target_relative_reach <= 0
        ):
            raise ValueError("warmups must be >= 0; min_time_s, pair_budget_s, target_relative_reach > 0")


# Tuned on a busy 2-core machine so that `make bench` (default) stays within 10 minutes with the build.
PLANS: dict[Mode, TimingPlan] = {
    Mode.QUICK: TimingPlan(
        processes=2, min_rounds=4, max_rounds=10, warmups=1, min_time_s=0.01, pair_budget_s=1.0
    ),
    Mode.DEFAULT: TimingPlan(
        processes=3, min_rounds=12, max_rounds=60, warmups=1, min_time_s=0.04, pair_budget_s=6.0
    ),
    Mode.FULL: TimingPlan(
        processes=4, min_rounds=20, max_rounds=120, warmups=2, min_time_s=0.1, pair_budget_s=30.0
    ),
}


CALIBRATIONS = 2  # per side and pair


@dataclass(frozen=True)
class PairTiming:
    rust: TimingSample
    python: TimingSample
    speedup: Speedup


def _calibrated_loops(
    worker: WorkerClient, function: str, workload: str, plan: TimingPlan
) -> dict[Impl, int]:
    """Each side calibrated twice, interleaved, keeping the larger count.

    A load spike during one calibration stops its doubling early, and values of a side with too few loops
    would be short and noisier.
    """
    sides = (Impl.RUST, Impl.PYTHON)
    loops: dict[Impl, int] = dict.fromkeys(sides, 1)
    for _ in range(CALIBRATIONS):
        for impl in sides:
            calibration = worker.time(
                function,
                impl=impl,
                workload=workload,
                loops=None,
                values=1,
                warmups=0,
                min_time_s=plan.min_time_s,
            )
            loops[impl] = max(loops[impl], calibration.loops)
    return loops


def time_pair(
    workers: Sequence[WorkerClient], function: str, workload: str, plan: TimingPlan, seed: int = 0
) -> PairTiming:
    """Times both sides of one pair, interleaved, over the given workers (the first calibrates)."""
    if not workers:
        raise ValueError("time_pair needs at least one worker")
    started = time.monotonic()
    sides = (Impl.RUST, Impl.PYTHON)
    loops = _calibrated_loops(workers[0], function, workload, plan)
    # The calibration runs warmed up the first worker.
    warmed: set[tuple[int, Impl]] = {(0, impl) for impl in sides}
    values: dict[Impl, list[float]] = {impl: [] for impl in sides}
    warmup_values: dict[Impl, list[float]] = {impl: [] for impl in sides}
    process_count = min(plan.processes, len(workers))
    speedup: Speedup | None = None
    round_index = 0
    while True:
        worker_index = round_index % process_count
        cycle = round_index // process_count
        order = sides if cycle % 2 == 0 else sides[::-1]
        for impl in order:
            warmups = 0 if (worker_index, impl) in warmed else plan.warmups
            response = workers[worker_index].time(
                function,
                impl=impl,
                workload=workload,
                loops=loops[impl],
                values=1,
                warmups=warmups,
                min_time_s=plan.min_time_s,
            )
            warmed.add((worker_index, impl))
            values[impl].extend(response.values_ns)
            warmup_values[impl].extend(response.warmup_values_ns)
        round_index += 1
        if round_index < plan.min_rounds or round_index % process_count:
            continue
        speedup = paired_speedup(values[Impl.PYTHON], values[Impl.RUST], seed, plan.bootstrap_resamples)
        out_of_time = time.monotonic() - started >= plan.pair_budget_s
        if (
            speedup.relative_reach <= plan.target_relative_reach
            or out_of_time
            or round_index >= plan.max_rounds
        ):
            break
    samples = {
        impl: TimingSample(
            function=function,
            impl=impl,
            workload=workload,
            values_ns=tuple(values[impl]),
            loops=loops[impl],
            warmup_values_ns=tuple(warmup_values[impl]),
        )
        for impl in sides
    }
    return PairTiming(rust=samples[Impl.RUST], python=samples[Impl.PYTHON], speedup=speedup)


def measure_timer_overhead_ns(worker: WorkerClient, plan: TimingPlan) -> float:
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
