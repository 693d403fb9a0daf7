"""Sizing the injected delay: how many steps slow a target by the aimed fraction, as measured."""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from harness.functions.pairs.workload_types import Mode
from harness.gate.build import Build, build_commit
from harness.gate.experiment.options import ExperimentOptions, Progress
from harness.gate.experiment.patch import PatchError, inject_slowdowns, spin_ns_per_iteration
from harness.gate.measure import Target, measure_interleaved, time_one_side
from harness.measure.engine import Purpose, plan_for
from harness.measure.worker_client import WorkerError
from harness.results import Impl

RUST_PROBE_ITERATIONS = 100_000  # sized once per target from a probe build: Rust's cost per iteration
SIZING_ATTEMPTS = 5  # patched builds tried per fraction before the closest one is kept
SIZING_TOLERANCE = 0.1  # a sized change within 10% of the aim (10% +- 1 point) is close enough
# 30 rounds: a 57 us function that reads /proc and cgroup files has a few % of round-to-round spread.
SIZING_PLAN = replace(plan_for(Purpose.GATE, Mode.QUICK).with_rounds(30), memory_calls=0)


def function_time_ns(build: Build, target: Target, scratch: Path, impl: Impl = Impl.PYTHON) -> float:
    """Median per-call time of one side of the target on ``build``."""
    plan = plan_for(Purpose.GATE, Mode.DEFAULT).with_rounds(3)
    return time_one_side(build, (target.function, impl, target.workload), plan, scratch=scratch)


@dataclass(frozen=True)
class Sizing:
    base_ns: dict[Target, float]  # the target side's time per call on the clean build
    ns_per_iteration: dict[Target, float]  # a first guess of the loop's cost, refined by measuring


def initial_sizing(
    repo: Path, commit: str, clean: Build, options: ExperimentOptions, progress: Progress
) -> Sizing:
    base_ns = {t: function_time_ns(clean, t, options.scratch, options.side) for t in options.targets}
    if options.side is Impl.PYTHON:
        per_iteration = spin_ns_per_iteration()
        return Sizing(base_ns, dict.fromkeys(options.targets, per_iteration))
    return Sizing(
        base_ns,
        {
            target: _rust_ns_per_iteration(
                repo, commit, target=target, base_ns=base_ns[target], options=options, progress=progress
            )
            for target in options.targets
        },
    )


def sized_patched_build(
    repo: Path,
    commit: str,
    clean: Build,
    *,
    fraction: float,
    sizing: Sizing,
    options: ExperimentOptions,
    progress: Progress,
) -> tuple[Build, dict[Target, int], dict[Target, float]]:
    """A build with every target slowed by about ``fraction``; its iteration counts and measured changes."""
    first_guess = {
        target: max(1, round(fraction * sizing.base_ns[target] / sizing.ns_per_iteration[target]))
        for target in options.targets
    }
    built: list[tuple[dict[Target, int], Build]] = []  # every attempt reuses the one scratch slot

    def build_and_measure(iterations: dict[Target, int]) -> dict[Target, float]:
        patched = patched_build(repo, commit, iterations=iterations, options=options, progress=progress)
        built.append((iterations, patched))
        measured = _measured_changes(clean, patched, options)
        progress(
            f"sizing +{fraction:.0%}: "
            + ", ".join(f"{t.function} x{iterations[t]} -> {measured[t]:+.1%}" for t in options.targets)
        )
        return measured

    iterations, measured = size_iterations(first_guess, fraction, build_and_measure)
    last_iterations, patched = built[-1]
    if iterations != last_iterations:  # the closest attempt was an earlier one: the slot holds another
        patched = patched_build(repo, commit, iterations=iterations, options=options, progress=progress)
    return patched, iterations, measured


def size_iterations(
    first_guess: dict[Target, int],
    fraction: float,
    measure: Callable[[dict[Target, int]], dict[Target, float]],
    *,
    attempts: int = SIZING_ATTEMPTS,
    tolerance: float = SIZING_TOLERANCE,
) -> tuple[dict[Target, int], dict[Target, float]]:
    """Delay sizes that slow every target by ``fraction`` as measured, not as computed.

    A delay inside a real function does not cost its steps times a step's cost in isolation: a ``while``
    countdown gave a 0.9 us function +18% when sized for +10%, and a CPU overlaps a short Rust loop with the
    work around it (+3.8% for +10%). So each guess is measured (``measure``: build it, time it against the
    clean build). A target whose best attempt is within ``tolerance`` of the aim keeps it; the others get a
    new guess from a straight line through all their attempts (the delay's fixed cost is its intercept, and
    more points average the timing noise). The targets are different functions, so each keeps its own best
    attempt. Returns the iteration counts and the changes measured with them.
    """

    def close_enough(change: float) -> bool:
        return abs(change / fraction - 1) <= tolerance

    history: dict[Target, list[tuple[int, float]]] = {target: [] for target in first_guess}
    iterations = dict(first_guess)
    for _ in range(attempts):
        measured = measure(iterations)
        for target, count in iterations.items():
            history[target].append((count, measured[target]))
        best = {target: _closest(points, fraction) for target, points in history.items()}
        if all(close_enough(change) for _, change in best.values()):
            break
        iterations = {
            target: count if close_enough(change) else _next_guess(history[target], fraction)
            for target, (count, change) in best.items()
        }
    best = {target: _closest(points, fraction) for target, points in history.items()}
    return {t: count for t, (count, _) in best.items()}, {t: change for t, (_, change) in best.items()}


def _closest(points: Sequence[tuple[int, float]], fraction: float) -> tuple[int, float]:
    return min(points, key=lambda point: abs(point[1] - fraction))


def _next_guess(points: Sequence[tuple[int, float]], fraction: float) -> int:
    """The count a straight line through the attempts (count, change) puts at ``fraction``; with a single
    attempt, or a line that does not rise, the last count scaled by aim / measured."""
    last_count, last_change = points[-1]
    guess = last_count * (fraction / last_change if last_change > 0 else 2.0)
    if len({count for count, _ in points}) >= 2:
        slope, intercept = np.polyfit([c for c, _ in points], [m for _, m in points], 1)
        if slope > 0:
            # A noisy line can point far away: stay within a factor of 4 of the last count.
            guess = min(max((fraction - intercept) / slope, last_count / 4), last_count * 4)
    return max(1, round(guess))


def _measured_changes(clean: Build, patched: Build, options: ExperimentOptions) -> dict[Target, float]:
    keys = [(t.function, options.side, t.workload) for t in options.targets]
    measurements = measure_interleaved(clean, patched, [], SIZING_PLAN, scratch=options.scratch, keys=keys)
    changes: dict[Target, float] = {}
    for target, key in zip(options.targets, keys, strict=True):
        if key not in measurements.base_ns:
            raise WorkerError("SizingError", f"{key}: {measurements.errors.get(key, 'not measured')}")
        ratios = [
            c / b for b, c in zip(measurements.base_ns[key], measurements.candidate_ns[key], strict=True)
        ]
        changes[target] = statistics.median(ratios) - 1
    return changes


def patched_build(
    repo: Path, commit: str, *, iterations: dict[Target, int], options: ExperimentOptions, progress: Progress
) -> Build:
    """The scratch worktree with a loop in each target function; a Rust patch rebuilds sky_rs (incrementally).

    Two targets of the same function would get two loops: the experiment refuses that (ExperimentOptions)."""
    rust = options.side is Impl.RUST
    counts = tuple((target.function, count) for target, count in iterations.items())
    return build_commit(
        repo, commit, slot="experiment-patched", gate_dir=options.gate_dir, rebuild_native=rust,
        patch=functools.partial(inject_slowdowns, iterations=counts, rust=rust), progress=progress,
    )  # fmt: skip


def _rust_ns_per_iteration(
    repo: Path,
    commit: str,
    *,
    target: Target,
    base_ns: float,
    options: ExperimentOptions,
    progress: Progress,
) -> float:
    """Rust's loop cost, from a probe build with a known, large iteration count."""
    progress(f"probe build: {RUST_PROBE_ITERATIONS} iterations in the Rust {target.function}")
    probe = patched_build(
        repo, commit, iterations={target: RUST_PROBE_ITERATIONS}, options=options, progress=progress
    )
    probe_ns = function_time_ns(probe, target, options.scratch, Impl.RUST)
    per_iteration = (probe_ns - base_ns) / RUST_PROBE_ITERATIONS
    if not per_iteration > 0:
        raise PatchError(
            f"the Rust probe of {target.function} did not slow it down ({base_ns} -> {probe_ns} ns)"
        )
    return per_iteration
