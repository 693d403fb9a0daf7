"""``run_gate``: from options to a GateReport. Three ways to judge the working tree:

* against a commit (default: the parent, or the merge base with the main branch): both builds measured
  interleaved in this run, on this machine; timings, allocations and the Rust floors are judged;
* against a committed baseline (``--baseline``): only on the machine the baseline was measured on, unless
  ``--ratios-only`` compares the in-run Rust/Python speedups, which travel between machines better;
* instruction counts under callgrind (``--instructions``), against a commit: deterministic, 1% threshold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.functions.pairs.workload_types import DEFAULT_SCRATCH, Mode
from harness.functions.registry import (
    FUNCTIONS,
    build_registry,
    builtin_function_names,
    validate_functions,
)
from harness.gate.against_baseline import gate_against_baseline
from harness.gate.build import (
    GATE_DIR,
    Build,
    BuildError,
    build_commit,
    candidate_build,
    default_ref,
    repo_root,
    require_worker_protocol,
    resolve_commit,
)
from harness.gate.calibrate import key_of
from harness.gate.compare import (
    GatePolicy,
    PairedRounds,
    judge_deterministic,
    judge_speedup_floor,
)
from harness.gate.config import GateConfig, load_config
from harness.gate.floor_drift import FloorDriftCheck, check_floor_drift, floor_runner
from harness.gate.instructions import InstructionJob, count_instructions, judge_instructions
from harness.gate.lock import DEFAULT_LOCK_WAIT_S, gate_dir_lock
from harness.gate.looks import ONE_LOOK, Look, Stage2Looks, Stage2Record, look_order_seed, look_rounds
from harness.gate.measure import Measurements, Target, measure_interleaved
from harness.gate.noise_floors import noise_floors
from harness.gate.outcome import (
    CannotJudge,
    CannotJudgeCode,
    GateReport,
    GateUsageError,
    cannot_judge_comparison,
    comparison_key,
)
from harness.gate.profile import PROFILED_METRICS, profile_regression
from harness.gate.source_digest import ensure_fresh_candidate
from harness.gate.suspect_instructions import (
    SuspectCounts,
    SuspectInstructions,
    callgrind_counter,
    count_suspects,
    should_count,
)
from harness.gate.two_stage import UNCONFIRMED, Remeasure, confirm_rounds, judge_two_stage, unresolved
from harness.measure.engine import MeasurePlan, Purpose, plan_for
from harness.measure.environment import collect_environment
from harness.results import GateComparison, GateOutcome, Impl

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GateOptions:
    """Everything a gate run can be told. Defaults are the CI gate's (``--quick`` against the parent)."""

    repo: Path = field(default_factory=Path.cwd)
    against: str | None = None  # None: the parent commit or the merge base with the main branch
    baseline: Path | None = None
    ratios_only: bool = False
    instructions: bool = False
    mode: Mode = Mode.QUICK
    only: tuple[str, ...] = ()
    plan: MeasurePlan = field(default_factory=lambda: plan_for(Purpose.GATE, Mode.QUICK))
    config: GateConfig = field(default_factory=load_config)
    calibration: Path | None = None  # None: reports/calibration/<this machine>.json if it exists
    use_calibration: bool = True
    scratch: Path = DEFAULT_SCRATCH
    gate_dir: Path | None = None  # None: <repo>/.skybench/gate
    instruction_calls: int = 5
    profile_dir: Path | None = None  # where each flagged regression's differential profile goes; None: none
    rebuild_candidate: bool = True  # False (--no-rebuild): a stale candidate build is exit 2, not rebuilt
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S  # how long to wait for another gate using the same gate dir
    suspect_instructions: SuspectInstructions = SuspectInstructions.AUTO  # count the Rust suspects too
    stage2: Stage2Looks = ONE_LOOK  # --stage2-looks, --stage2-budget: the sequential stage 2 (looks.py)
    floor_drift: bool = True  # False (--no-floor-drift): Rust / physical floor is not checked


def targets_for(mode: Mode, only: Sequence[str]) -> list[Target]:
    """The candidate's registry decides what is measured; a workload the base lacks cannot be judged.

    The fallback side of the built-in pairs (its routing table) is compared too: it is what callers call.
    """
    registry = build_registry()
    functions = validate_functions(tuple(only)) if only else FUNCTIONS
    routed = set(builtin_function_names())
    return [
        Target(f, workload.id, fallback=f in routed)
        for f in functions
        for workload in registry[f].workloads_for(mode)
    ]


def run_gate(options: GateOptions, progress: Progress = lambda message: None) -> GateReport:
    """Raises GateUsageError (bad options) or GateToolError (a fault of the gate): both exit 2."""
    started = time.monotonic()
    if options.baseline is not None and options.instructions:
        raise GateUsageError("--instructions compares with a commit, not with a baseline file")
    if options.baseline is None and options.ratios_only:
        raise GateUsageError("--ratios-only applies to --baseline only")
    repo = repo_root(options.repo)
    # Before anything is measured, the candidate must be a build of the working tree's sources.
    if options.baseline is not None:
        ensure_fresh_candidate(repo, rebuild=options.rebuild_candidate, progress=progress)
        report = gate_against_baseline(options, progress)
    else:
        commit = _base_commit(repo, options)  # an unknown REF is a usage error before any waiting
        if isinstance(commit, GateReport):
            elapsed_s = time.monotonic() - started
            return replace(commit, duration_seconds=elapsed_s, environment=collect_environment(repo))
        gate_dir = (options.gate_dir or repo / GATE_DIR).resolve()
        with gate_dir_lock(gate_dir, wait_s=options.lock_wait_s, progress=progress):
            ensure_fresh_candidate(repo, rebuild=options.rebuild_candidate, progress=progress)
            report = _gate_against_commit(replace(options, gate_dir=gate_dir, against=commit), progress)
    return replace(report, duration_seconds=time.monotonic() - started, environment=collect_environment(repo))


# --- against a commit ---


def _base_commit(repo: Path, options: GateOptions) -> str | GateReport:
    """The base's full sha, or a cannot-judge report when there is none. Unknown --against: usage."""
    try:
        return resolve_commit(repo, options.against) if options.against else default_ref(repo)
    except BuildError as error:  # no parent commit
        return GateReport(
            mode="against",
            base="HEAD~1",
            candidate="working tree",
            cannot_judge=CannotJudge(error.code, str(error)),
        )
    except ValueError as error:  # RefError: the user named something git does not know
        raise GateUsageError(str(error)) from error


def _base_build(options: GateOptions, progress: Progress) -> Build | GateReport:
    """The build of ``options.against`` (a resolved sha), or a cannot-judge report saying why there is
    none. Faults of the tool (GateToolError) propagate."""
    repo = repo_root(options.repo)
    commit = resolve_commit(repo, options.against or "HEAD~1")
    try:
        require_worker_protocol(repo, commit)
        return build_commit(repo, commit, gate_dir=options.gate_dir, progress=progress)
    except BuildError as error:  # facts about the base
        return GateReport(
            mode="against",
            base=commit,
            candidate="working tree",
            cannot_judge=CannotJudge(error.code, str(error)),
        )


def _gate_against_commit(options: GateOptions, progress: Progress) -> GateReport:
    base = _base_build(options, progress)
    if isinstance(base, GateReport):
        return base
    repo = repo_root(options.repo)
    candidate = candidate_build(repo)
    targets = targets_for(options.mode, options.only)
    if options.instructions:
        return _gate_instructions(options, base, candidate, targets, progress)
    floors, notes = noise_floors(
        repo, calibration=options.calibration, use_calibration=options.use_calibration
    )
    counting = should_count(options.suspect_instructions, options.mode)  # `on` without valgrind: exit 2 now
    scratch = options.scratch.resolve()
    measurements = measure_interleaved(
        base, candidate, targets, options.plan, scratch=scratch, progress=progress
    )
    policy = options.config.policy
    remeasure = remeasure_on(base, candidate, options.plan, scratch=scratch, policy=policy, progress=progress)
    judged = judge_run(measurements, options.config, floors, remeasure=remeasure, looks=options.stage2)
    comparisons = judged.comparisons
    counted = _suspect_instructions(options, counting, (base, candidate), comparisons, progress)
    comparisons += counted.comparisons
    notes.append(counted.note)
    notes.append(
        f"two stages: a screen of {options.plan.rounds} interleaved rounds (suspect: slower, with raw p < "
        f"{policy.screen_level} or a median beyond the minimum effect), then up to {policy.max_suspects} "
        "suspects re-measured on "
        f"{confirm_rounds(policy, options.plan.rounds)} fresh rounds and judged on those alone (Holm over "
        f"the suspects at alpha {policy.alpha}); fresh worker processes every "
        f"{options.plan.fresh_processes_every or 'never'} round(s); minimum effect {policy.min_effect:.0%}"
    )
    if options.stage2.sequential:
        notes.append(options.stage2.describe(policy))
    used_floors = {
        key: floor for key, floor in floors.items() if key in {comparison_key(c) for c in comparisons}
    }
    profiles = _profile_regressions(options, base, candidate, comparisons, progress)
    drift = _floor_drift(options, candidate, comparisons, used_floors, progress)
    return GateReport(
        mode="against",
        base=base.commit,
        candidate=candidate.commit,
        comparisons=tuple(comparisons),
        cannot_judge=unconfirmed_reason(comparisons, policy),
        notes=tuple(notes),
        noise_floors=used_floors,
        profiles=profiles,
        evidence=counted.evidence or {},
        stage2=_with_order_seeds(judged.stage2, options.plan.order_seed),
        floor_drift=drift,
    )


def _floor_drift(
    options: GateOptions,
    candidate: Build,
    comparisons: Sequence[GateComparison],
    noise: dict[str, float],
    progress: Progress,
) -> FloorDriftCheck:
    """Rust / physical floor on both builds (one floor: it calls no sky_rs); a warning, never a verdict."""
    if not options.floor_drift:
        return FloorDriftCheck(not_checked="switched off")
    progress("physical floors of the compared Rust workloads (floor drift: a warning only)")
    return check_floor_drift(  # the command prints the drifts, or why not checked, on stderr
        comparisons,
        mode=options.mode,
        policy=options.config.policy,
        noise_floors=noise,
        run=floor_runner(options.mode, options.scratch.resolve(), candidate.tree / "native"),
    )


def _with_order_seeds(record: Stage2Record | None, seed: int) -> Stage2Record | None:
    """The record with each started look's seed of random side orders (``remeasure_on`` derives them)."""
    if record is None:
        return None
    return replace(record, order_seeds=tuple(look_order_seed(seed, i) for i in range(record.looks_started)))


def _suspect_instructions(
    options: GateOptions,
    counting: tuple[bool, str],
    builds: tuple[Build, Build],
    comparisons: list[GateComparison],
    progress: Progress,
) -> SuspectCounts:
    """The Rust time suspects counted under callgrind too, or the note that says they were not."""
    count, why_not = counting
    if not count:
        progress(why_not)
        return SuspectCounts(note=why_not)
    return count_suspects(
        comparisons,
        builds,
        threshold=options.config.policy.instructions_threshold,
        counter=callgrind_counter(options.scratch.resolve(), options.instruction_calls),
        progress=progress,
    )


def _profile_regressions(
    options: GateOptions,
    base: Build,
    candidate: Build,
    comparisons: Sequence[GateComparison],
    progress: Progress,
) -> dict[str, str]:
    """comparison key -> its differential profile's path (relative to the output folder): regressions only."""
    if options.profile_dir is None:
        return {}
    profiles: dict[str, str] = {}
    for comparison in comparisons:
        if comparison.outcome is not GateOutcome.REGRESSION or comparison.metric not in PROFILED_METRICS:
            continue
        progress(f"differential profile of {comparison_key(comparison)}")
        path = profile_regression(base, candidate, comparison, options.profile_dir, options.scratch.resolve())
        profiles[comparison_key(comparison)] = f"{options.profile_dir.name}/{path.name}"
    return profiles


def unconfirmed_reason(comparisons: Sequence[GateComparison], policy: GatePolicy) -> CannotJudge | None:
    """Suspects that stage 2 could neither confirm nor clear may hide a slowdown: exit 3 unless something
    regressed."""
    left_open = unresolved(comparisons)
    if not left_open:
        return None
    unreached = sum(c.detail.startswith(UNCONFIRMED) for c in left_open)
    reasons = []
    if unreached:
        reasons.append(
            f"{unreached} not re-measured (stage 2 takes at most {policy.max_suspects}, max_suspects)"
        )
    if len(left_open) > unreached:
        reasons.append(
            f"{len(left_open) - unreached} too noisy in stage 2 to rule out a slowdown of "
            f"+{policy.clear_effect:.0%} (clear_effect) or could not be re-measured"
        )
    detail = f"{len(left_open)} suspect(s) of the screen were neither confirmed nor cleared: " + "; ".join(
        reasons
    )
    return CannotJudge(CannotJudgeCode.UNCONFIRMED_SUSPECTS, detail)


def remeasure_on(
    base: Build,
    candidate: Build,
    plan: MeasurePlan,
    *,
    scratch: Path,
    policy: GatePolicy,
    progress: Progress = lambda message: None,
) -> Remeasure:
    """Stage 2's measurement: the suspects only, on fresh interleaved rounds and fresh worker processes.

    Look i takes ``look_rounds`` rounds (the fixed stage 2's first, then half as many) and its own seed of
    random side orders (``look_order_seed``: the plan's for the first look), so looks draw new orders."""

    def remeasure(suspects: Sequence[PairedRounds], look: Look) -> list[PairedRounds | str]:
        rounds = look_rounds(confirm_rounds(policy, plan.rounds), look.index)
        keys = [(s.function, s.impl, s.workload) for s in suspects]
        which = f" (look {look.index + 1} of at most {look.of})" if look.of > 1 else ""
        progress(f"stage 2{which}: {len(keys)} suspect(s), {rounds} fresh interleaved rounds")
        look_plan = replace(
            plan.with_rounds(rounds), memory_calls=0, order_seed=look_order_seed(plan.order_seed, look.index)
        )
        fresh = measure_interleaved(
            base, candidate, [], look_plan, scratch=scratch, progress=progress, keys=keys
        )
        return [
            replace(
                suspect,
                base_values=tuple(fresh.base_ns[key]),
                candidate_values=tuple(fresh.candidate_ns[key]),
            )
            if key in fresh.base_ns
            else fresh.errors.get(key, "not measured")
            for suspect, key in zip(suspects, keys, strict=True)
        ]

    return remeasure


@dataclass(frozen=True)
class JudgedRun:
    """Every verdict of one gate run, and stage 2's record of its looks (None: no suspect)."""

    comparisons: list[GateComparison]
    stage2: Stage2Record | None = None


def judge_measurements(
    measurements: Measurements, config: GateConfig, noise_floors: dict[str, float], *, remeasure: Remeasure
) -> list[GateComparison]:
    """The verdicts of :func:`judge_run` with the fixed stage 2."""
    return judge_run(measurements, config, noise_floors, remeasure=remeasure).comparisons


def judge_run(
    measurements: Measurements,
    config: GateConfig,
    noise_floors: dict[str, float],
    *,
    remeasure: Remeasure,
    looks: Stage2Looks = ONE_LOOK,
) -> JudgedRun:
    """Timing (two stages: screen, then ``remeasure`` the suspects in ``looks``), allocations, and the Rust
    floors."""
    policy = config.policy
    paired = [
        PairedRounds(
            function=function,
            impl=impl,
            workload=workload,
            base_values=tuple(measurements.base_ns[(function, impl, workload)]),
            candidate_values=tuple(measurements.candidate_ns[(function, impl, workload)]),
            noise_floor=noise_floors.get(key_of((function, impl, workload))),
        )
        for function, impl, workload in measurements.base_ns
    ]
    comparisons, decision = judge_two_stage(paired, remeasure, policy, looks)
    comparisons += [
        _measurement_error(function, impl, workload, reason)
        for (function, impl, workload), reason in measurements.errors.items()
    ]
    for key, base_bytes in measurements.base_alloc_bytes.items():
        function, impl, workload = key
        comparisons.append(
            judge_deterministic(
                function=function,
                impl=impl,
                workload=workload,
                metric="alloc_bytes",
                base_value=base_bytes,
                candidate_value=measurements.candidate_alloc_bytes[key],
                relative_threshold=policy.memory_threshold,
                absolute_floor=policy.memory_floor_bytes,
                unit=" B",
            )
        )
    comparisons += _rust_floors(measurements, config)
    return JudgedRun(comparisons, decision.stage2)


def _rust_floors(measurements: Measurements, config: GateConfig) -> list[GateComparison]:
    """ "Rust must pay its way" on the candidate, for Rust called directly and for the fallback (the path
    callers use): each against Python in the same rounds, failing below the function's floor."""
    verdicts: list[GateComparison] = []
    candidate = measurements.candidate_ns
    for function, impl, workload in candidate:
        python_key = (function, Impl.PYTHON, workload)
        if impl is Impl.PYTHON or python_key not in candidate:
            continue
        floor = config.floor_for(function, impl)
        if floor <= 0:
            continue
        verdicts.append(
            judge_speedup_floor(
                function=function,
                workload=workload,
                rust_values_ns=candidate[(function, impl, workload)],
                python_values_ns=candidate[python_key],
                floor=floor,
                policy=config.policy,
                impl=impl,
            )
        )
    return verdicts


def _measurement_error(function: str, impl: Impl, workload: str, reason: str) -> GateComparison:
    """A key a build could not time; "new" when it is the base that knows no such function or workload."""
    comparison = cannot_judge_comparison(function, impl, workload, "time", reason)
    unknown = ("unknown workload", "unknown function", "impl must be")  # "impl": a base before the fallback
    if reason.startswith("base:") and any(text in reason for text in unknown):
        return replace(comparison, presence="new")
    return comparison


def _gate_instructions(
    options: GateOptions, base: Build, candidate: Build, targets: Sequence[Target], progress: Progress
) -> GateReport:
    jobs = [
        InstructionJob(t.function, impl, t.workload) for t in targets for impl in (Impl.RUST, Impl.PYTHON)
    ]
    counts = {}
    for build in (base, candidate):
        progress(f"counting instructions of {len(jobs)} calls on {build.label} under callgrind")
        counts[build.label] = count_instructions(
            build.python,
            jobs,
            cwd=build.tree,
            scratch=options.scratch.resolve(),
            calls=options.instruction_calls,
        )
    comparisons = judge_instructions(
        counts[base.label],
        counts[candidate.label],
        relative_threshold=options.config.policy.instructions_threshold,
    )
    return GateReport(
        mode="instructions",
        base=base.commit,
        candidate=candidate.commit,
        comparisons=tuple(comparisons),
        notes=(
            f"instructions per call under callgrind, {options.instruction_calls} passes per workload, "
            f"empty loop subtracted; fails above +{options.config.policy.instructions_threshold:.1%}",
        ),
    )
