"""``run_bench``: registry -> parity check -> timing and memory runs -> RunResult.

A plain function with typed options; the CLI (``harness.commands.bench``) only parses arguments into them, and
``harness.sinks.run_folder`` writes what it returns. Ctrl-C stops the run: what was measured is returned with
``interrupted=True`` (the pair being measured at that moment is listed in ``not_comparable`` as dropped),
and every worker process is killed before this function returns.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from harness import interrupts
from harness.functions import fallback
from harness.functions.pairs.workload_types import (
    DEFAULT_SCRATCH,
    NOOP_FUNCTION,
    NOOP_WORKLOAD,
    Mode,
    Workload,
    ensure_data,
)
from harness.functions.registry import DEFAULT_MODULES, FUNCTIONS, build_registry, validate_functions
from harness.measure.criterion import BENCH_TARGET, CriterionError, build_bench_targets, run_criterion
from harness.measure.engine import (
    Matchup,
    MeasurePlan,
    Purpose,
    Side,
    WorkerCommand,
    WorkerPool,
    measure_memory,
    measure_rounds,
    plan_for,
)
from harness.measure.environment import collect_environment
from harness.measure.floors import FLOOR_TARGET, measure_result_objects, run_floors, with_result_objects
from harness.measure.physical import REFERENCE_VALUES, measure_references
from harness.measure.served import served_calls
from harness.measure.timing import measure_import_time_ns, measure_timer_overhead_ns
from harness.measure.worker_client import WorkerClient, WorkerError
from harness.results import (
    Impl,
    MemorySample,
    NativeEstimate,
    NotComparable,
    PairResult,
    RunResult,
    TimingSample,
)
from harness.stats import apply_floors, verdict, with_fallback

REPO_ROOT = Path(__file__).resolve().parents[2]
# not_comparable's reason for the pair Ctrl-C stopped in its middle.
DROPPED_AT_CTRL_C = "dropped: Ctrl-C came while it was being measured"
# Every side of a pair runs in the same workers: one worker source; Rust, Python and, for the pairs the
# fallback routes, the fallback (what callers call).
_SOURCE = "bench"
RUST_SIDE = Side(_SOURCE, Impl.RUST)
PYTHON_SIDE = Side(_SOURCE, Impl.PYTHON)
FALLBACK_SIDE = Side(_SOURCE, Impl.FALLBACK)
SPEEDUP_RATIO = (PYTHON_SIDE, RUST_SIDE)
PRODUCTION_SPEEDUP_RATIO = (PYTHON_SIDE, FALLBACK_SIDE)


@dataclass(frozen=True)
class BenchOptions:
    """Everything a bench run can be told. Defaults are `make bench`."""

    mode: Mode = Mode.DEFAULT
    only: tuple[str, ...] = ()  # functions to run; empty = all 12
    scratch: Path = DEFAULT_SCRATCH
    seed: int = 0
    python: Path = field(default_factory=lambda: Path(sys.executable))  # the interpreter of the workers
    repo_root: Path = REPO_ROOT
    plan: MeasurePlan | None = None  # None: the bench's plan of the mode
    modules: Mapping[Impl, str] = field(default_factory=lambda: dict(DEFAULT_MODULES))
    memory: bool = True  # allocations per call (and peak RSS of large workloads)
    criterion: bool = True  # the Rust functions without Python (cargo bench), for the report's split
    floors: bool = True  # the physical floors (cargo bench --bench floors) and the best possible speedups
    references: bool = True  # hashlib, md5sum/sha256sum and bytes read on the scaled workloads
    fallback: bool = True  # time the fallback as a third side of the pairs it routes
    import_time_repeats: int = 7  # fresh-process imports of sky_rs; 0 skips the measurement
    progress: bool = True
    # Given the run's environment once it is collected, returns a callback for (pairs done, pairs in the
    # run), called after each pair: how a live telemetry sink (Pushgateway progress gauges) follows the run.
    progress_sink: Callable[[Mapping[str, str]], Callable[[int, int], None] | None] | None = None

    @property
    def timing_plan(self) -> MeasurePlan:
        return self.plan or plan_for(Purpose.BENCH, self.mode)

    @property
    def worker_command(self) -> WorkerCommand:
        return WorkerCommand(
            self.python, self.scratch, cwd=self.repo_root, seed=self.seed, modules=self.modules
        )


@dataclass(frozen=True)
class _Task:
    function: str
    workload: Workload
    claimed_speedup: float | None
    fallback: bool = False  # the fallback routes it: timed as a third side


def _tasks(options: BenchOptions) -> list[_Task]:
    registry = build_registry()
    functions = validate_functions(options.only) if options.only else FUNCTIONS
    tasks: list[_Task] = []
    for function in functions:
        pair = registry[function]
        claimed = pair.claim.claimed_speedup if pair.claim is not None else None
        routed = options.fallback and function in fallback.FUNCTIONS
        tasks.extend(
            _Task(function, workload, claimed, routed) for workload in pair.workloads_for(options.mode)
        )
    return tasks


def _run_id(started_at_unix_s: float, mode: Mode) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started_at_unix_s)) + f"-{mode}"


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[tqdm[None]]:
    # Without an iterable, tqdm's stubs type the bar tqdm[Never].
    bar: tqdm[None] = tqdm(  # type: ignore[assignment]
        total=total, unit="pair", disable=not enabled, dynamic_ncols=True, file=sys.stderr
    )
    try:
        yield bar
    finally:
        bar.close()


def _prepare_data(tasks: Sequence[_Task], options: BenchOptions, say: Callable[[str], None]) -> None:
    items = {item.name: item for task in tasks for item in task.workload.data}
    for item in items.values():
        say(f"workload data: {item.name}")
        ensure_data(item, options.scratch, options.seed)


@dataclass
class _Collected:
    """What a run has measured so far; turned into the RunResult however the run ends."""

    environment: dict[str, str] = field(default_factory=dict)
    import_time_ns: dict[str, float] = field(default_factory=dict)
    call_floor: PairResult | None = None
    timer_overhead_ns: float | None = None
    pairs: list[PairResult] = field(default_factory=list)
    not_comparable: list[NotComparable] = field(default_factory=list)
    fallback_calls: dict[str, int] = field(default_factory=dict)
    rust_native_ns: dict[str, float] = field(default_factory=dict)
    physical_references: dict[str, float] = field(default_factory=dict)
    floors: dict[str, NativeEstimate] = field(default_factory=dict)
    result_object_floors: dict[str, NativeEstimate] = field(default_factory=dict)
    interrupted: bool = False
    # The pair being measured (function, workload): if Ctrl-C comes now, it is listed as dropped.
    in_progress: tuple[str, str] | None = None


def run_bench(options: BenchOptions) -> RunResult:
    """Measures every selected pair; returns what was measured (``interrupted=True`` after Ctrl-C)."""
    started_at = time.time()
    started_monotonic = time.monotonic()
    # Workers run in the repository root; relative paths must mean what they meant to the caller.
    options = replace(options, scratch=options.scratch.resolve(), python=options.python.absolute())
    tasks = _tasks(options)
    collected = _Collected()
    with ExitStack() as stack, _progress(len(tasks) + 1, options.progress) as bar:
        try:
            # The one stretch Ctrl-C may cut (under the command's interrupts.ctrl_c_policy()): the workers'
            # cleanup below and the writing of the result that follows run to their end.
            with interrupts.interruptible():
                _measure(options, tasks, collected, stack, bar)
        except KeyboardInterrupt:
            collected.interrupted = True
            if collected.in_progress is not None:
                # Its rounds so far are too few to judge: named as dropped rather than silently missing.
                function, workload = collected.in_progress
                collected.not_comparable.append(NotComparable(function, workload, DROPPED_AT_CTRL_C))
    # Leaving the ExitStack has killed every worker, whether the run finished or not.
    return RunResult(
        run_id=_run_id(started_at, options.mode),
        mode=str(options.mode),
        started_at_unix_s=started_at,
        duration_seconds=time.monotonic() - started_monotonic,
        environment=collected.environment,
        pairs=tuple(collected.pairs),
        not_comparable=tuple(collected.not_comparable),
        call_floor=collected.call_floor,
        import_time_ns=collected.import_time_ns,
        rust_native_ns=collected.rust_native_ns,
        physical_references=collected.physical_references,
        floors=collected.floors,
        result_object_floors=collected.result_object_floors,
        timer_overhead_ns=collected.timer_overhead_ns,
        fallback_calls=collected.fallback_calls,
        interrupted=collected.interrupted,
    )


def _measure(
    options: BenchOptions, tasks: Sequence[_Task], collected: _Collected, stack: ExitStack, bar: tqdm[None]
) -> None:
    """The steps of a run, in order; each stores its result in ``collected`` as soon as it has it."""
    plan = options.timing_plan
    bar.set_description("environment")
    collected.environment = dict(collect_environment(options.repo_root))
    on_pair_done = options.progress_sink(collected.environment) if options.progress_sink else None
    _prepare_data(tasks, options, bar.set_description)
    bar.set_description("import time")
    collected.import_time_ns = _import_times(options)
    timing_pool = _pool(options, plan.processes, stack)
    # Allocation tracking (memray) stays out of the timing workers: its hooks must not touch timed calls.
    memory_pool = _pool(options, 1, stack) if options.memory else None
    _measure_floor_and_overhead(timing_pool, options, collected, bar)
    bar.update()
    for pairs_done, task in enumerate(tasks, start=1):
        bar.set_description(f"{task.function}[{task.workload.id}]")
        collected.in_progress = (task.function, task.workload.id)
        outcome = _measure_task(task, options, timing_pool, memory_pool, bar.write)
        with interrupts.deferred():  # stored and no longer in progress: never one without the other
            if isinstance(outcome, PairResult):
                collected.pairs.append(outcome)
            else:
                collected.not_comparable.append(outcome)
            collected.in_progress = None
        bar.update()
        if on_pair_done is not None:
            on_pair_done(pairs_done, len(tasks))
    _measure_after_pairs(tasks, options, collected, bar, timing_pool)


def _pool(options: BenchOptions, processes: int, stack: ExitStack) -> WorkerPool[WorkerClient]:
    """Timing workers of the bench's one source, replaced when one dies; all killed by ``stack``."""
    return WorkerPool({_SOURCE: options.worker_command}, processes, stack)


def _measure_floor_and_overhead(
    timing_pool: WorkerPool[WorkerClient], options: BenchOptions, collected: _Collected, bar: tqdm[None]
) -> None:
    """The call floor (no-op functions, timed as a pair is) and the timing loop's own cost."""
    plan = options.timing_plan
    bar.set_description("call floor")
    collected.in_progress = (NOOP_FUNCTION, NOOP_WORKLOAD.id)
    try:
        call_floor = _time_task(timing_pool, _Task(NOOP_FUNCTION, NOOP_WORKLOAD, None), plan, options.seed)
        with interrupts.deferred():
            collected.call_floor, collected.in_progress = call_floor, None
    except WorkerError as error:
        bar.write(f"call floor not measured: {error}")
        timing_pool.revive_dead()
        collected.in_progress = None
    bar.set_description("timer overhead")
    try:
        collected.timer_overhead_ns = measure_timer_overhead_ns(timing_pool.client(_SOURCE), plan)
    except WorkerError as error:
        bar.write(f"timer overhead not measured: {error}")
        timing_pool.revive_dead()


def _measure_after_pairs(
    tasks: Sequence[_Task],
    options: BenchOptions,
    collected: _Collected,
    bar: tqdm[None],
    timing_pool: WorkerPool[WorkerClient],
) -> None:
    """What is measured once the pairs are: references, fallback dispatch, Criterion, physical floors."""
    if options.references:
        bar.set_description("physical references (hashlib, coreutils, bytes read)")
        _measure_references(tasks, options, collected, bar.write)
    if collected.pairs and dict(options.modules) == dict(DEFAULT_MODULES):
        bar.set_description("fallback dispatch")
        timed = {(pair.function, pair.workload) for pair in collected.pairs}
        workloads = [(t.function, t.workload) for t in tasks if (t.function, t.workload.id) in timed]
        collected.fallback_calls = served_calls(workloads, options.scratch, options.seed)
    _build_rust_benches(options, collected, bar)
    if options.criterion:
        bar.set_description("criterion (Rust without Python)")
        try:
            # Criterion's default-length settings took ~4 minutes here, more than `make bench`'s 10-minute
            # budget leaves; its short settings still give the medians the report needs.
            collected.rust_native_ns = run_criterion(quick=options.mode is not Mode.FULL)
        except CriterionError as error:
            bar.write(f"Rust-only Criterion times not measured: {error}")
    if options.floors and collected.pairs:
        bar.set_description("physical floors (Rust, no Python)")
        _measure_floors(tasks, options, collected, bar.write)
        bar.set_description("result objects' floors (Python objects, no call)")
        _add_result_objects(timing_pool, options, collected, bar.write)


def _build_rust_benches(options: BenchOptions, collected: _Collected, bar: tqdm[None]) -> None:
    """Builds the Criterion and floor benches the run will use in one cargo call (see build_bench_targets)."""
    targets = [BENCH_TARGET] if options.criterion else []
    targets += [FLOOR_TARGET] if options.floors and collected.pairs else []
    if len(targets) > 1:
        bar.set_description("building the Rust benches")
        try:
            build_bench_targets(targets)
        except CriterionError as error:
            bar.write(f"Rust benches not built together: {error}")


def _measure_floors(
    tasks: Sequence[_Task], options: BenchOptions, collected: _Collected, warn: Callable[[str], None]
) -> None:
    """The floors of the timed pairs, then each pair's best possible speedup and its verdict with it."""
    timed = {(pair.function, pair.workload) for pair in collected.pairs}
    workloads = [task.workload for task in tasks if (task.function, task.workload.id) in timed]
    try:
        # Short settings, as Criterion's: the floors took about a minute of a default `make bench` here.
        collected.floors = run_floors(
            workloads, options.scratch, options.seed, quick=options.mode is not Mode.FULL
        )
    except CriterionError as error:
        warn(f"physical floors not measured: {error}")
        return
    collected.pairs = list(
        apply_floors(collected.pairs, collected.floors, collected.call_floor, options.seed)
    )


def _add_result_objects(
    timing_pool: WorkerPool[WorkerClient],
    options: BenchOptions,
    collected: _Collected,
    warn: Callable[[str], None],
) -> None:
    """The floors with the Python objects each call must return, then the pairs' speedups again."""
    if not collected.floors or dict(options.modules) != dict(DEFAULT_MODULES):
        return  # another project's Rust module has no helper to build its results with
    try:
        collected.result_object_floors = measure_result_objects(timing_pool.client(_SOURCE), collected.floors)
    except WorkerError as error:
        timing_pool.revive_dead()
        warn(f"result objects' floors not measured (the floors leave them out): {error}")
        return
    collected.floors = with_result_objects(collected.floors, collected.result_object_floors)
    collected.pairs = list(
        apply_floors(collected.pairs, collected.floors, collected.call_floor, options.seed)
    )


def _measure_references(
    tasks: Sequence[_Task], options: BenchOptions, collected: _Collected, warn: Callable[[str], None]
) -> None:
    """Each reference is stored as soon as it is measured, so Ctrl-C keeps those already taken."""
    plan = options.timing_plan
    references = measure_references(
        (task.workload for task in tasks),
        options.scratch,
        options.seed,
        values=REFERENCE_VALUES,
        min_time_s=plan.min_time_s,
    )
    try:
        for key, value in references:
            collected.physical_references[key] = value
    except (OSError, subprocess.SubprocessError) as error:
        warn(f"physical references incomplete: {error}")


def _import_times(options: BenchOptions) -> dict[str, float]:
    if not options.import_time_repeats:
        return {}
    return {
        module: measure_import_time_ns(
            options.python, module, options.import_time_repeats, cwd=options.repo_root
        )
        for module in options.modules.values()
    }


def _measure_task(
    task: _Task,
    options: BenchOptions,
    timing_pool: WorkerPool[WorkerClient],
    memory_pool: WorkerPool[WorkerClient] | None,
    warn: Callable[[str], None],
) -> PairResult | NotComparable:
    """Parity, then timing, then memory of one pair. A pair that fails is returned as NotComparable."""
    try:
        difference = timing_pool.client(_SOURCE).parity(task.function, task.workload.id)
        if difference is not None:
            return NotComparable(task.function, task.workload.id, difference)
        pair = _time_task(timing_pool, task, options.timing_plan, options.seed)
    except WorkerError as error:
        # One pair that cannot be measured must not end the run; it is listed with the reason.
        timing_pool.revive_dead()
        return NotComparable(task.function, task.workload.id, f"could not be measured: {error}")
    if memory_pool is None:
        return pair
    return _with_memory(pair, task, options.timing_plan, memory_pool, warn)


def _with_memory(
    pair: PairResult,
    task: _Task,
    plan: MeasurePlan,
    memory_pool: WorkerPool[WorkerClient],
    warn: Callable[[str], None],
) -> PairResult:
    """The pair with every timed side's memory: the fallback gets a pass of its own, never Rust's figures."""
    sides = (RUST_SIDE, PYTHON_SIDE, FALLBACK_SIDE) if pair.fallback is not None else (RUST_SIDE, PYTHON_SIDE)
    matchup = Matchup(task.function, task.workload.id, sides)
    [memory] = measure_memory(memory_pool, [matchup], plan, peak_rss=task.workload.large)
    if memory.failure is not None:
        warn(f"memory of {task.function}[{task.workload.id}] not measured: {memory.failure}")
        return pair
    samples = {
        side.impl: MemorySample(
            task.function,
            side.impl,
            task.workload.id,
            statistics.median(memory.sides[side].alloc_bytes_per_call),
            statistics.median(memory.sides[side].allocs_per_call),
            memory.sides[side].peak_rss_bytes,
        )
        for side in sides
    }
    return replace(
        pair,
        rust_memory=samples[Impl.RUST],
        python_memory=samples[Impl.PYTHON],
        fallback_memory=samples.get(Impl.FALLBACK),
    )


def _time_task(pool: WorkerPool[WorkerClient], task: _Task, plan: MeasurePlan, seed: int) -> PairResult:
    """Every side of one pair in the engine's rounds, until its speedups are precise enough.

    The adaptive stop waits for Python / Rust and, where the fallback is timed, Python / fallback. Raises
    the WorkerError of a side that could not be measured.
    """
    sides = (RUST_SIDE, PYTHON_SIDE, FALLBACK_SIDE) if task.fallback else (RUST_SIDE, PYTHON_SIDE)
    stop_on = (SPEEDUP_RATIO, PRODUCTION_SPEEDUP_RATIO) if task.fallback else (SPEEDUP_RATIO,)
    matchup = Matchup(task.function, task.workload.id, sides, stop_on=stop_on)
    [rounds] = measure_rounds(pool, [matchup], plan, seed=seed)
    if rounds.failure is not None:
        raise rounds.failure.error
    samples = {
        side.impl: TimingSample(
            function=task.function,
            impl=side.impl,
            workload=task.workload.id,
            values_ns=rounds.values_ns[side],
            loops=rounds.loops[side.impl],
            warmup_values_ns=rounds.warmup_values_ns[side],
        )
        for side in sides
    }
    speedup = rounds.ratios[SPEEDUP_RATIO]
    pair = PairResult(
        function=task.function,
        workload=task.workload.id,
        size=task.workload.size,
        size_unit=task.workload.size_unit,
        rust=samples[Impl.RUST],
        python=samples[Impl.PYTHON],
        speedup=speedup,
        claimed_speedup=task.claimed_speedup,
        verdict=verdict(speedup, task.claimed_speedup),
    )
    fallback_sample = samples.get(Impl.FALLBACK)
    if fallback_sample is None:
        return pair
    # The engine's interval for the stop, recomputed from the same rounds, seed and resamples.
    return with_fallback(pair, fallback_sample, seed, plan.bootstrap_resamples)
