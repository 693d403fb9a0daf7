"""The experiment's runs: A/A runs (clean against clean), injected runs (clean against a sized patch), and
the instruction-count version. Each run is the gate's own two stages (``judge_measurements``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.functions.registry import find_workload
from harness.gate.build import Build, build_commit, repo_root, resolve_commit
from harness.gate.calibrate import save_calibration, summarise_aa_runs
from harness.gate.experiment.options import (
    ExperimentOptions,
    Progress,
    ResultRow,
    timing_regressions,
)
from harness.gate.experiment.outputs import RunLog
from harness.gate.experiment.sizing import Sizing, initial_sizing, patched_build, sized_patched_build
from harness.gate.gate import judge_run, remeasure_on, targets_for
from harness.gate.instructions import InstructionCountError, InstructionJob, count_instructions
from harness.gate.measure import Measurements, Target, measure_interleaved
from harness.gate.noise_floors import machine_fingerprint_here, noise_floors
from harness.gate.two_stage import unresolved
from harness.measure.neighbour import NeighbourRun
from harness.results import GateComparison, GateOutcome, Impl


@dataclass(frozen=True)
class _Setting:
    """What every run of one experiment shares: the tree, the clean build, the floors, the log."""

    repo: Path
    commit: str
    clean: Build
    options: ExperimentOptions
    floors: dict[str, float]
    log: RunLog
    progress: Progress


def run_experiment(
    options: ExperimentOptions,
    progress: Progress = lambda message: None,
    neighbour: NeighbourRun | None = None,  # what runs beside: its record goes into each file
) -> list[ResultRow]:
    repo = repo_root(options.repo)
    commit = resolve_commit(repo, "HEAD")
    for target in options.targets:
        find_workload(target.function, target.workload)  # UnknownNameError early, before any build
    clean = build_commit(repo, commit, slot="experiment-clean", gate_dir=options.gate_dir, progress=progress)
    if options.instructions:
        return _instruction_experiment(repo, commit, clean, options, progress)
    # The gate's rule: --calibration, else this machine's file; --no-calibration, none.
    floors, notes = noise_floors(
        repo, calibration=options.calibration, use_calibration=options.use_calibration
    )
    for note in notes:
        progress(note)
    setting = _Setting(repo, commit, clean, options, floors, RunLog(options.out_dir, neighbour), progress)
    rows = _aa_runs(setting)
    if not options.runs or not options.targets:  # --runs 0: A/A runs only, nothing built
        return rows
    sizing = initial_sizing(repo, commit, clean, options, progress)
    for fraction in options.fractions:
        rows += _injected_runs(setting, fraction, sizing)
    return rows


def _aa_runs(setting: _Setting) -> list[ResultRow]:
    """The A/A runs' row (none for --aa-runs 0); with two or more, their calibration.json too."""
    options, progress = setting.options, setting.progress
    alarms = unjudged = 0
    aa_measurements: list[Measurements] = []
    for run_index in range(options.aa_runs):
        progress(f"A/A run {run_index + 1}/{options.aa_runs}")
        started = time.monotonic()
        measurements, comparisons = _one_run(setting.clean, setting.clean, setting)
        aa_measurements.append(measurements)
        regressions = timing_regressions(comparisons)
        alarms += bool(regressions)
        unjudged += not regressions and _has_unconfirmed(comparisons)
        setting.log.write("A/A", (), 0.0, run_index, comparisons, seconds=time.monotonic() - started)
    if len(aa_measurements) >= 2 and options.out_dir is not None:
        # The A/A runs are a calibration too: its file is what `calibrate` would write from these runs.
        calibration = summarise_aa_runs(
            aa_measurements,
            rounds=options.plan.rounds,
            fingerprint=machine_fingerprint_here(setting.repo),
            policy=options.config.policy,
            neighbour=setting.log.neighbour.snapshot() if setting.log.neighbour is not None else None,
        )
        save_calibration(calibration, options.out_dir / "calibration.json")
    if not options.aa_runs:
        return []
    return [
        ResultRow(
            "A/A", suite_label(options), "", 0.0, options.aa_runs, 0, alarms, None, cannot_judge_runs=unjudged
        )
    ]


def _injected_runs(setting: _Setting, fraction: float, sizing: Sizing) -> list[ResultRow]:
    """One row per target: the runs of the clean build against the one slowed by about ``fraction``."""
    options, progress = setting.options, setting.progress
    patched, iterations, sized_change = sized_patched_build(
        setting.repo, setting.commit, setting.clean, fraction=fraction, sizing=sizing, options=options,
        progress=progress,
    )  # fmt: skip
    detections = dict.fromkeys(options.targets, 0)
    changes: dict[Target, list[float]] = {target: [] for target in options.targets}
    target_functions = {target.function for target in options.targets}
    false_alarms = unjudged = 0
    for run_index in range(options.runs):
        progress(f"injected +{fraction:.0%}: run {run_index + 1}/{options.runs}")
        started = time.monotonic()
        _, comparisons = _one_run(setting.clean, patched, setting)
        for comparison in comparisons:
            for target in options.targets:
                if _is_target(comparison, target, options.side):
                    changes[target].append(comparison.change_ratio - 1)
                    detections[target] += comparison.outcome is GateOutcome.REGRESSION
        regressions = timing_regressions(comparisons)
        # The patched functions' other workloads (and, through shared code, other sides) are slower for
        # real; a regression anywhere else is a false alarm.
        false_alarms += any(r.function not in target_functions for r in regressions)
        unjudged += not regressions and _has_unconfirmed(comparisons)
        setting.log.write(
            "injected", options.targets, fraction, run_index, comparisons, seconds=time.monotonic() - started
        )
    return [
        ResultRow("injected", target.function, target.workload, fraction, options.runs,
                  detections[target], false_alarms,
                  statistics.median(changes[target]) if changes[target] else None, iterations[target],
                  cannot_judge_runs=unjudged, sized_change=sized_change[target])
        for target in options.targets
    ]  # fmt: skip


def _has_unconfirmed(comparisons: Sequence[GateComparison]) -> bool:
    """A clean run with suspects stage 2 left open: the gate says "cannot judge" (exit 3)."""
    return bool(unresolved(comparisons))


def _one_run(base: Build, candidate: Build, setting: _Setting) -> tuple[Measurements, list[GateComparison]]:
    """The gate's two stages on one pair of builds: the screen's measurements and every verdict."""
    options = setting.options
    measurements = measure_interleaved(
        base, candidate, _suite(options), options.plan, scratch=options.scratch, progress=setting.progress
    )
    remeasure = remeasure_on(
        base,
        candidate,
        options.plan,
        scratch=options.scratch,
        policy=options.config.policy,
        progress=setting.progress,
    )
    judged = judge_run(
        measurements, options.config, setting.floors, remeasure=remeasure, looks=options.stage2
    )
    return measurements, judged.comparisons


def _suite_functions(options: ExperimentOptions) -> tuple[str, ...]:
    """The functions every run gates: ``--only``'s and the targets', or () for all of them."""
    if not options.only:
        return ()
    return tuple(dict.fromkeys((*options.only, *(t.function for t in options.targets))))


def _suite(options: ExperimentOptions) -> list[Target]:
    return targets_for(options.mode, _suite_functions(options))


def suite_label(options: ExperimentOptions) -> str:
    """What an A/A row covered: the whole suite, or the functions ``--only`` kept."""
    functions = _suite_functions(options)
    return f"({', '.join(functions)})" if functions else "(whole suite)"


def _is_target(comparison: GateComparison, target: Target, side: Impl) -> bool:
    return (
        comparison.function == target.function
        and comparison.workload == target.workload
        and comparison.impl is side
        and comparison.metric == "time"
    )


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
    rows = [ResultRow("instructions A/A", suite_label(options), "", 0.0, 1, 0, int(bool(differing)), None)]
    log = RunLog(options.out_dir)
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
        probe = patched_build(
            repo, commit, iterations={target: probe_iterations}, options=python_only, progress=progress
        )
        (probe_count,) = count_instructions(probe.python, [job], cwd=probe.tree, scratch=scratch)
        assert probe_count.instructions_per_call is not None
        per_iteration = (probe_count.instructions_per_call - base) / probe_iterations
        iterations = max(1, round(options.instruction_change * base / per_iteration))
        patched = patched_build(
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
