"""``experiment``: does the gate catch a known slowdown, and does it stay quiet on identical builds?

A scratch worktree of HEAD gets a delay inserted at the top of each target function, on the Python
reference (N lines of ``_n = _n``: no call, no allocation) or in the Rust ``#[pyfunction]`` (a ``black_box``
countdown). N is sized by measuring: a first guess from one step's cost is built, timed against the clean
build and corrected until the target's measured change is within 10% of the aim (``size_iterations``).
All targets (default: a ~1 us and a ~100 us function) are slowed in the same build, so every run gives one
detection sample per target. The gate's own measurement and statistics then compare the clean build (base)
with the patched one (candidate), exactly as ``gate --against`` would:

* A/A runs (clean against clean) count false alarms: runs where any timing comparison regressed; they also
  make a calibration (``calibration.json``, what ``calibrate`` would write from the same runs);
* injected runs count detections (the target comparison regressed) and false alarms elsewhere (a function
  that was not patched regressed; a patched function's other workloads are slower for real).

``--instructions`` runs the instruction-count version: two callgrind counts of the clean build (A/A: must
agree), then a patch sized to add ``--instruction-change`` (default 2%) to the target's instructions.

Results go to ``reports/experiments/<UTC time>/``: ``results.csv``, ``results.md`` and ``runs.jsonl``.
"""

from __future__ import annotations

import argparse
import ast
import csv
import functools
import json
import math
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.atomic import open_atomic_text, write_text_atomic
from harness.environment import collect_environment
from harness.gate.build import Build, BuildError, build_commit, repo_root, resolve_commit
from harness.gate.calibrate import (
    CalibrationError,
    calibration_path,
    load_calibration,
    save_calibration,
    summarise_aa_runs,
)
from harness.gate.config import ConfigError, GateConfig, load_config
from harness.gate.gate import judge_measurements, machine_fingerprint_here, remeasure_on, targets_for
from harness.gate.instructions import InstructionCountError, InstructionJob, count_instructions
from harness.gate.measure import DEFAULT_PLAN, Measurements, MeasurePlan, Target, measure_interleaved
from harness.gate.options import add_measure_arguments, mode_of, plan_of
from harness.gate.outcome import ExitCode, GateToolError
from harness.gate.two_stage import unresolved
from harness.neighbour import (
    NEIGHBOUR_CSV_COLUMNS,
    NeighbourError,
    NeighbourRecord,
    NeighbourRun,
    add_neighbour_argument,
    csv_fields,
    neighbour_scratch,
    running_neighbour,
)
from harness.registry import FUNCTIONS, UnknownNameError, find_workload
from harness.results import GateComparison, GateOutcome, Impl
from harness.worker_client import WorkerClient, WorkerError
from harness.workloads import DEFAULT_SCRATCH, Mode

EXPERIMENTS_DIR = Path("reports/experiments")
REFERENCE_PACKAGE = Path("harness/reference")
SPIN_VARIABLE = "_skybench_spin"
# About 1 us and about 100 us per call of the Python reference on this kind of machine (quick workloads).
DEFAULT_TARGETS: tuple[tuple[str, str], ...] = (("format_float", "mixed-p0"), ("get_cpu_count", "host"))
Progress = Callable[[str], None]


class PatchError(ValueError):
    """The function to slow down was not found in the reference sources."""


@dataclass(frozen=True)
class ExperimentOptions:
    repo: Path
    targets: tuple[Target, ...] = tuple(Target(f, w) for f, w in DEFAULT_TARGETS)
    fractions: tuple[float, ...] = (0.05, 0.10, 0.25)
    runs: int = 20  # injected runs per target and fraction
    aa_runs: int = 20
    mode: Mode = Mode.DEFAULT  # the gate's default; --quick is the CI gate's plan
    only: tuple[str, ...] = ()  # functions of the suite; empty = all 12 (the targets' functions are added)
    plan: MeasurePlan = DEFAULT_PLAN  # memory is not part of the experiment
    config: GateConfig = field(default_factory=load_config)
    use_calibration: bool = True
    scratch: Path = DEFAULT_SCRATCH
    gate_dir: Path | None = None
    out_dir: Path | None = None
    side: Impl = Impl.PYTHON  # which side of the target gets the busy loop
    instructions: bool = False
    instruction_change: float = 0.02

    def __post_init__(self) -> None:
        functions = [target.function for target in self.targets]
        if len(set(functions)) != len(functions):
            # All targets are slowed in one build, one loop per function: two workloads of one function
            # would share (and double) it.
            raise ValueError(f"one target per function, got {', '.join(functions)}")


@dataclass(frozen=True)
class ResultRow:
    kind: str  # "A/A", "injected", "instructions A/A", "instructions injected"
    function: str
    workload: str
    injected: float  # the slowdown aimed at, as a fraction; 0 for A/A
    runs: int
    detections: int
    false_alarm_runs: int
    median_measured_change: float | None  # of the target comparison, over the runs
    iterations: int = 0  # loop iterations inserted
    cannot_judge_runs: int = 0  # runs without a regression that still exit 3 (suspects left open)
    sized_change: float | None = None  # measured while sizing the delay (SIZING_PLAN, before the runs)


# --- the patch ---


def spin_lines(iterations: int, indent: str) -> list[str]:
    """``iterations`` straight-line copies of a local into itself (LOAD_FAST, STORE_FAST: about 5 ns here).

    No loop to set up and no allocation, so the delay grows in steps of about 0.5% of a 1 us function. A
    ``while`` countdown's set-up alone cost +5% there and 2 iterations +14%, so 10% was out of reach; and
    ``x += 1`` allocates a new int past 256 (26 ns a step, and allocations the gate would see too).
    """
    return [f"{indent}{SPIN_VARIABLE} = 0\n", *[f"{indent}{SPIN_VARIABLE} = {SPIN_VARIABLE}\n"] * iterations]


def inject_python_slowdown(tree: Path, function: str, iterations: int) -> Path:
    """Inserts the busy loop as the first statement of ``function`` in the tree's reference package."""
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    for source_path in sorted((tree / REFERENCE_PACKAGE).glob("*.py")):
        source = source_path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name == function:
                first = node.body[0]
                has_docstring = (
                    isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)
                )  # fmt: skip
                anchor = node.body[1] if has_docstring and len(node.body) > 1 else first
                lines = source.splitlines(keepends=True)
                insert_at = (first.end_lineno or first.lineno) if has_docstring else anchor.lineno - 1
                indent = " " * anchor.col_offset
                lines[insert_at:insert_at] = spin_lines(iterations, indent)
                source_path.write_text("".join(lines), encoding="utf-8")
                return source_path
    raise PatchError(f"no top-level function {function!r} in {tree / REFERENCE_PACKAGE}")


RUST_BINDINGS = Path("native/src/python")
RUST_SPIN_VARIABLE = "skybench_spin"
RUST_PROBE_ITERATIONS = 100_000  # sized once per target from a probe build: Rust's cost per iteration


def rust_spin_lines(iterations: int) -> list[str]:
    # black_box keeps the optimiser from deleting the loop or computing its end in one step.
    return [
        f"    let mut {RUST_SPIN_VARIABLE}: u64 = std::hint::black_box({iterations});\n",
        f"    while {RUST_SPIN_VARIABLE} != 0 {{\n",
        f"        {RUST_SPIN_VARIABLE} = std::hint::black_box({RUST_SPIN_VARIABLE} - 1);\n",
        "    }\n",
    ]


def inject_rust_slowdown(tree: Path, function: str, iterations: int) -> Path:
    """Inserts a busy loop as the first statement of the ``#[pyfunction]`` named ``function``."""
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    signature = re.compile(rf"^pub fn {re.escape(function)}\b", re.MULTILINE)
    for source_path in sorted((tree / RUST_BINDINGS).glob("*.rs")):
        source = source_path.read_text(encoding="utf-8")
        match = signature.search(source)
        if match is None:
            continue
        body_start = source.find("{\n", match.end())
        if body_start < 0:
            raise PatchError(f"{source_path}: no body found after `pub fn {function}`")
        insert_at = body_start + 2
        patched = source[:insert_at] + "".join(rust_spin_lines(iterations)) + source[insert_at:]
        source_path.write_text(patched, encoding="utf-8")
        return source_path
    raise PatchError(f"no `pub fn {function}` in {tree / RUST_BINDINGS}")


def spin_ns_per_iteration(iterations: int = 1000, calls: int = 200, repeats: int = 5) -> float:
    """What one step of ``spin_lines`` costs in this interpreter (the base build uses the same one)."""
    namespace: dict[str, Any] = {}
    body = "".join(spin_lines(iterations, "    "))
    exec(compile(f"def spin():\n{body}", "<spin>", "exec"), namespace)
    spin = namespace["spin"]
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            spin()
        best = min(best, time.perf_counter_ns() - start)
    return best / (iterations * calls)


def function_time_ns(build: Build, target: Target, scratch: Path, impl: Impl = Impl.PYTHON) -> float:
    """Median per-call time of one side of the target on ``build``."""
    with WorkerClient(build.python, scratch, cwd=build.tree) as worker:
        response = worker.time(
            target.function, impl=impl, workload=target.workload, loops=None, values=7, warmups=2,
            min_time_s=0.05,
        )  # fmt: skip
    return statistics.median(response.values_ns)


# --- the runs ---


def _noise_floors(options: ExperimentOptions, repo: Path) -> dict[str, float]:
    if not options.use_calibration:
        return {}
    fingerprint = machine_fingerprint_here(repo)
    path = repo / calibration_path(fingerprint)
    try:
        calibration = load_calibration(path, fingerprint=fingerprint)
    except CalibrationError:
        return {}
    return {key: noise.noise_floor for key, noise in calibration.comparisons.items()}


def _has_unconfirmed(comparisons: Sequence[GateComparison]) -> bool:
    """A clean run with suspects stage 2 left open: the gate says "cannot judge" (exit 3)."""
    return bool(unresolved(comparisons))


def _timing_regressions(comparisons: Sequence[GateComparison]) -> list[GateComparison]:
    return [c for c in comparisons if c.metric == "time" and c.outcome is GateOutcome.REGRESSION]


def _one_run(
    base: Build, candidate: Build, options: ExperimentOptions, floors: dict[str, float], progress: Progress
) -> tuple[Measurements, list[GateComparison]]:
    """The gate's two stages on one pair of builds: the screen's measurements and every verdict."""
    measurements = measure_interleaved(
        base, candidate, _suite(options), options.plan, scratch=options.scratch, progress=progress
    )
    remeasure = remeasure_on(
        base,
        candidate,
        options.plan,
        scratch=options.scratch,
        policy=options.config.policy,
        progress=progress,
    )
    return measurements, judge_measurements(measurements, options.config, floors, remeasure=remeasure)


def _suite(options: ExperimentOptions) -> list[Target]:
    if not options.only:
        return targets_for(options.mode, ())
    functions = tuple(dict.fromkeys((*options.only, *(t.function for t in options.targets))))
    return targets_for(options.mode, functions)


def _is_target(comparison: GateComparison, target: Target, side: Impl) -> bool:
    return (
        comparison.function == target.function
        and comparison.workload == target.workload
        and comparison.impl is side
        and comparison.metric == "time"
    )


def run_experiment(
    options: ExperimentOptions,
    progress: Progress = lambda message: None,
    neighbour: NeighbourRun | None = None,  # noisy neighbour (issue 13): its record goes into each file
) -> list[ResultRow]:
    repo = repo_root(options.repo)
    commit = resolve_commit(repo, "HEAD")
    for target in options.targets:
        find_workload(target.function, target.workload)  # UnknownNameError early, before any build
    clean = build_commit(repo, commit, slot="experiment-clean", gate_dir=options.gate_dir, progress=progress)
    if options.instructions:
        return _instruction_experiment(repo, commit, clean, options, progress)
    floors = _noise_floors(options, repo)
    log = _RunLog(options.out_dir, neighbour)
    rows: list[ResultRow] = []

    alarms = unjudged = 0
    aa_measurements: list[Measurements] = []
    for run_index in range(options.aa_runs):
        progress(f"A/A run {run_index + 1}/{options.aa_runs}")
        started = time.monotonic()
        measurements, comparisons = _one_run(clean, clean, options, floors, progress)
        aa_measurements.append(measurements)
        regressions = _timing_regressions(comparisons)
        alarms += bool(regressions)
        unjudged += not regressions and _has_unconfirmed(comparisons)
        log.write("A/A", (), 0.0, run_index, comparisons, seconds=time.monotonic() - started)
    if len(aa_measurements) >= 2 and options.out_dir is not None:
        # The A/A runs are a calibration too: its file is what `calibrate` would write from these runs.
        calibration = summarise_aa_runs(
            aa_measurements,
            rounds=options.plan.rounds,
            fingerprint=machine_fingerprint_here(repo),
            policy=options.config.policy,
            neighbour=neighbour.snapshot() if neighbour is not None else None,
        )
        save_calibration(calibration, options.out_dir / "calibration.json")
    if options.aa_runs:
        rows.append(
            ResultRow(
                "A/A", "(whole suite)", "", 0.0, options.aa_runs, 0, alarms, None, cannot_judge_runs=unjudged
            )
        )

    if not options.runs or not options.targets:  # --runs 0: A/A runs only, nothing built
        return rows
    sizing = _initial_sizing(repo, commit, clean, options, progress)
    for fraction in options.fractions:
        patched, iterations, sized_change = _sized_patched_build(
            repo, commit, clean, fraction=fraction, sizing=sizing, options=options, progress=progress
        )
        detections = dict.fromkeys(options.targets, 0)
        changes: dict[Target, list[float]] = {target: [] for target in options.targets}
        target_functions = {target.function for target in options.targets}
        false_alarms = unjudged = 0
        for run_index in range(options.runs):
            progress(f"injected +{fraction:.0%}: run {run_index + 1}/{options.runs}")
            started = time.monotonic()
            _, comparisons = _one_run(clean, patched, options, floors, progress)
            for comparison in comparisons:
                for target in options.targets:
                    if _is_target(comparison, target, options.side):
                        changes[target].append(comparison.change_ratio - 1)
                        detections[target] += comparison.outcome is GateOutcome.REGRESSION
            regressions = _timing_regressions(comparisons)
            # The patched functions' other workloads (and, through shared code, other sides) are slower for
            # real; a regression anywhere else is a false alarm.
            false_alarms += any(r.function not in target_functions for r in regressions)
            unjudged += not regressions and _has_unconfirmed(comparisons)
            log.write(
                "injected", options.targets, fraction, run_index, comparisons,
                seconds=time.monotonic() - started,
            )  # fmt: skip
        rows.extend(
            ResultRow("injected", target.function, target.workload, fraction, options.runs,
                      detections[target], false_alarms,
                      statistics.median(changes[target]) if changes[target] else None, iterations[target],
                      cannot_judge_runs=unjudged, sized_change=sized_change[target])
            for target in options.targets
        )  # fmt: skip
    return rows


# --- sizing the loop ---

SIZING_ATTEMPTS = 5  # patched builds tried per fraction before the closest one is kept
SIZING_TOLERANCE = 0.1  # a sized change within 10% of the aim (10% +- 1 point) is close enough
# 30 rounds: a 57 us function that reads /proc and cgroup files has a few % of round-to-round spread.
SIZING_PLAN = MeasurePlan(rounds=30, values_per_round=3, warmups=1, min_time_s=0.01, memory_calls=0)


@dataclass(frozen=True)
class _Sizing:
    base_ns: dict[Target, float]  # the target side's time per call on the clean build
    ns_per_iteration: dict[Target, float]  # a first guess of the loop's cost, refined by measuring


def _initial_sizing(
    repo: Path, commit: str, clean: Build, options: ExperimentOptions, progress: Progress
) -> _Sizing:
    base_ns = {t: function_time_ns(clean, t, options.scratch, options.side) for t in options.targets}
    if options.side is Impl.PYTHON:
        per_iteration = spin_ns_per_iteration()
        return _Sizing(base_ns, dict.fromkeys(options.targets, per_iteration))
    return _Sizing(
        base_ns,
        {
            target: _rust_ns_per_iteration(
                repo, commit, target=target, base_ns=base_ns[target], options=options, progress=progress
            )
            for target in options.targets
        },
    )


def _sized_patched_build(
    repo: Path,
    commit: str,
    clean: Build,
    *,
    fraction: float,
    sizing: _Sizing,
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
        patched = _patched_build(repo, commit, iterations=iterations, options=options, progress=progress)
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
        patched = _patched_build(repo, commit, iterations=iterations, options=options, progress=progress)
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


def inject_slowdowns(tree: Path, *, iterations: tuple[tuple[str, int], ...], rust: bool) -> None:
    for function, count in iterations:
        (inject_rust_slowdown if rust else inject_python_slowdown)(tree, function, count)


def _patched_build(
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
    probe = _patched_build(
        repo, commit, iterations={target: RUST_PROBE_ITERATIONS}, options=options, progress=progress
    )
    probe_ns = function_time_ns(probe, target, options.scratch, Impl.RUST)
    per_iteration = (probe_ns - base_ns) / RUST_PROBE_ITERATIONS
    if not per_iteration > 0:
        raise PatchError(
            f"the Rust probe of {target.function} did not slow it down ({base_ns} -> {probe_ns} ns)"
        )
    return per_iteration


def _instruction_experiment(
    repo: Path, commit: str, clean: Build, options: ExperimentOptions, progress: Progress
) -> list[ResultRow]:
    scratch = options.scratch.resolve()
    threshold = options.config.policy.instructions_threshold
    suite = [
        InstructionJob(t.function, impl, t.workload)
        for t in _suite(options)
        for impl in (Impl.RUST, Impl.PYTHON)
    ]
    progress(f"instruction counts of {len(suite)} calls on the clean build, twice (A/A)")
    first = count_instructions(clean.python, suite, cwd=clean.tree, scratch=scratch)
    second = count_instructions(clean.python, suite, cwd=clean.tree, scratch=scratch)
    differing = [
        a.job.key
        for a, b in zip(first, second, strict=True)
        if a.instructions_per_call is not None
        and b.instructions_per_call is not None
        and abs(b.instructions_per_call / max(a.instructions_per_call, 1.0) - 1) > threshold
    ]
    rows = [ResultRow("instructions A/A", "(whole suite)", "", 0.0, 1, 0, int(bool(differing)), None)]
    log = _RunLog(options.out_dir)
    log.write_raw({"kind": "instructions A/A", "over_threshold": differing,
                   "counts": [[a.job.key, a.instructions_per_call, b.instructions_per_call]
                              for a, b in zip(first, second, strict=True)]})  # fmt: skip
    for target in options.targets:
        job = InstructionJob(target.function, Impl.PYTHON, target.workload)
        base = next(c.instructions_per_call for c in first if c.job == job)
        if base is None:
            raise InstructionCountError(f"{job.key} could not be counted on the clean build")
        probe_iterations = 1000
        python_only = replace(options, side=Impl.PYTHON)  # instructions are counted on the Python side
        probe = _patched_build(
            repo, commit, iterations={target: probe_iterations}, options=python_only, progress=progress
        )
        (probe_count,) = count_instructions(probe.python, [job], cwd=probe.tree, scratch=scratch)
        assert probe_count.instructions_per_call is not None
        per_iteration = (probe_count.instructions_per_call - base) / probe_iterations
        iterations = max(1, round(options.instruction_change * base / per_iteration))
        patched = _patched_build(
            repo, commit, iterations={target: iterations}, options=python_only, progress=progress
        )
        (patched_count,) = count_instructions(patched.python, [job], cwd=patched.tree, scratch=scratch)
        assert patched_count.instructions_per_call is not None
        change = patched_count.instructions_per_call / base - 1
        rows.append(
            ResultRow("instructions injected", target.function, target.workload,
                      options.instruction_change, 1, int(change > threshold), 0, change, iterations)
        )  # fmt: skip
        log.write_raw({"kind": "instructions injected", "job": job.key, "base": base,
                       "patched": patched_count.instructions_per_call, "iterations": iterations})  # fmt: skip
    return rows


class _RunLog:
    """runs.jsonl: every run's comparisons, so a surprising number can be traced back."""

    def __init__(self, out_dir: Path | None, neighbour: NeighbourRun | None = None) -> None:
        self.path = out_dir / "runs.jsonl" if out_dir is not None else None
        self.neighbour = neighbour
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(
        self,
        kind: str,
        targets: Sequence[Target],
        fraction: float,
        run: int,
        comparisons: Sequence[GateComparison],
        *,
        seconds: float,
    ) -> None:
        self.write_raw({
            "kind": kind, "targets": [asdict(target) for target in targets], "injected": fraction, "run": run,
            "seconds": round(seconds, 1),
            "stage2": [asdict(c) for c in comparisons if c.detail.startswith("stage 2")],
            "regressions": [asdict(c) for c in _timing_regressions(comparisons)],
            "comparisons": [asdict(c) for c in comparisons],
            # noisy neighbour (issue 13): its record so far, and the load average during this run alone
            **({"neighbour": self.neighbour.snapshot().to_json_dict(),
                "load_1min_during_run": self.neighbour.load_during_last(seconds)} if self.neighbour else {}),
        })  # fmt: skip

    def write_raw(self, record: dict[str, Any]) -> None:
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, default=str) + "\n")


# --- outputs ---

_COLUMNS = (
    "kind", "function", "workload", "injected", "iterations", "runs", "detections", "false_alarm_runs",
    "median_measured_change", "sized_change", "cannot_judge_runs",
)  # fmt: skip


def write_results(
    rows: Sequence[ResultRow], out_dir: Path, machine: str, neighbour: NeighbourRecord | None = None
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, markdown_path = out_dir / "results.csv", out_dir / "results.md"
    with open_atomic_text(csv_path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow((*_COLUMNS, *NEIGHBOUR_CSV_COLUMNS))
        for row in rows:
            writer.writerow([*(getattr(row, column) for column in _COLUMNS), *csv_fields(neighbour)])
    write_text_atomic(markdown_path, results_markdown(rows, machine, neighbour))
    return csv_path, markdown_path


def results_markdown(
    rows: Sequence[ResultRow], machine: str, neighbour: NeighbourRecord | None = None
) -> str:
    lines = [
        f"Gate experiment on {machine}",
        "",
        *([f"With {neighbour.summary()}.", ""] if neighbour is not None else []),
        "| kind | function / workload | injected | measured while sizing | runs | detected "
        "| runs with a false alarm | median measured | runs that cannot judge |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = row.function + (f" / {row.workload}" if row.workload else "")
        measured = "-" if row.median_measured_change is None else f"{row.median_measured_change:+.1%}"
        detected = "-" if row.kind.endswith("A/A") else f"{row.detections}/{row.runs}"
        sized = "-" if row.sized_change is None else f"{row.sized_change:+.1%}"
        lines.append(
            f"| {row.kind} | {target} | {row.injected:+.0%} | {sized} | {row.runs} | {detected} | "
            f"{row.false_alarm_runs}/{row.runs} | {measured} | {row.cannot_judge_runs}/{row.runs} |"
        )
    return "\n".join(lines) + "\n"


def machine_description(repo: Path) -> str:
    environment = collect_environment(repo)
    return (
        f"{environment['cpu_model']}, {environment['logical_cores']} logical cores, "
        f"{int(environment['memory_total_bytes']) / 2**30:.0f} GiB, {environment['os']}, "
        f"Python {platform.python_version()} (fingerprint {environment['machine_fingerprint']})"
    )


# --- command line ---


def _target(text: str) -> Target:
    function, _, workload = text.partition("/")
    if not workload or function not in FUNCTIONS:
        raise argparse.ArgumentTypeError(
            f"expected FUNCTION/WORKLOAD with FUNCTION one of the 12, got {text!r}"
        )
    return Target(function, workload)


def _fractions(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated fractions, got {text!r}") from error
    if not values or any(not 0 < v < 10 for v in values):
        raise argparse.ArgumentTypeError(f"fractions must be in (0, 10), got {text!r}")
    return values


def register_experiment(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "experiment",
        help="inject known slowdowns and run A/A comparisons: the gate's detection and false-alarm rates",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--target", action="append", type=_target, metavar="FUNCTION/WORKLOAD",
                        help="function to slow down, on this workload (repeatable; default: "
                        + ", ".join(f"{f}/{w}" for f, w in DEFAULT_TARGETS) + ")")  # fmt: skip
    parser.add_argument("--fractions", type=_fractions, default=(0.05, 0.10, 0.25),
                        help="slowdowns to inject (default: 0.05,0.1,0.25)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=20, help="injected runs per target and fraction")
    parser.add_argument("--aa-runs", type=int, default=20, help="A/A runs (clean against clean)")
    parser.add_argument(
        "--side",
        choices=("python", "rust"),
        default="python",
        help="which side gets the slowdown (default: python)",
    )
    parser.add_argument("--instructions", action="store_true", help="the instruction-count experiment")
    parser.add_argument(
        "--instruction-change", type=float, default=0.02, help="instructions to add (0.02 = 2%%)"
    )
    parser.add_argument("--no-calibration", action="store_true", help="ignore calibrated noise floors")
    parser.add_argument(
        "--gate-dir", type=Path, help="where worktrees and venvs live (default: .skybench/gate)"
    )
    parser.add_argument("--out", type=Path, help="results folder (default: reports/experiments/<UTC time>)")
    add_measure_arguments(parser)
    add_neighbour_argument(parser)  # noisy neighbour (issue 13)
    parser.set_defaults(handler=experiment_command)


def experiment_command(arguments: argparse.Namespace) -> int:
    if arguments.runs < 0 or arguments.aa_runs < 0:
        print("experiment: usage error: --runs and --aa-runs must be >= 0", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    out_dir = arguments.out or EXPERIMENTS_DIR / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        repo = repo_root(Path.cwd())
        options = ExperimentOptions(
            repo=repo,
            targets=tuple(arguments.target) if arguments.target else ExperimentOptions.targets,
            fractions=arguments.fractions,
            runs=arguments.runs,
            aa_runs=arguments.aa_runs,
            mode=mode_of(arguments),
            only=tuple(arguments.only or ()),
            plan=replace(plan_of(arguments), memory_calls=0),
            config=load_config(arguments.config),
            use_calibration=not arguments.no_calibration,
            scratch=arguments.scratch.resolve(),
            gate_dir=arguments.gate_dir,
            out_dir=out_dir,
            side=Impl(arguments.side),
            instructions=arguments.instructions,
            instruction_change=arguments.instruction_change,
        )  # fmt: skip
        # noisy neighbour (issue 13): beside every run; recorded in runs.jsonl, results.*, calibration.json
        with running_neighbour(arguments.neighbour, neighbour_scratch(arguments.scratch)) as neighbour:
            rows = run_experiment(
                options,
                progress=lambda message: print(f"  .. {message}", file=sys.stderr),
                neighbour=neighbour,
            )
    except (ConfigError, UnknownNameError, PatchError, ValueError) as error:
        print(f"experiment: usage error: {error}", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    except (BuildError, GateToolError, WorkerError, InstructionCountError, NeighbourError, OSError) as error:
        print(f"experiment: tool error: {error}", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    _RunLog(out_dir).write_raw({"kind": "neighbour", "neighbour": neighbour.record.to_json_dict()})
    csv_path, markdown_path = write_results(rows, out_dir, machine_description(repo), neighbour.record)
    print(markdown_path.read_text(encoding="utf-8"))
    print(f"wrote {csv_path}, {markdown_path}, {out_dir / 'runs.jsonl'}")
    return ExitCode.NO_REGRESSION
