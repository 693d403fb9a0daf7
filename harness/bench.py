"""``run_bench``: registry -> parity check -> timing and memory runs -> RunResult.

A plain function with typed options; the CLI (``harness.bench_cli``) only parses arguments into them, and
``harness.outputs`` writes what it returns. Ctrl-C stops the run: what was measured is returned with
``interrupted=True``, and every worker process is killed before this function returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from tqdm import tqdm

from harness import fallback
from harness.criterion import CriterionError, run_criterion
from harness.environment import collect_environment
from harness.memory import MemoryMeasurementError, measure_peak_rss
from harness.parity import capture
from harness.registry import DEFAULT_MODULES, FUNCTIONS, build_registry, validate_functions
from harness.results import Impl, MemorySample, NotComparable, PairResult, RunResult
from harness.stats import verdict
from harness.timing import PLANS, TimingPlan, measure_import_time_ns, time_pair
from harness.worker import WorkerClient, WorkerError
from harness.workloads import (
    DEFAULT_SCRATCH,
    NOOP_FUNCTION,
    NOOP_WORKLOAD,
    Mode,
    Workload,
    ensure_data,
    prepare,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BenchOptions:
    """Everything a bench run can be told. Defaults are `make bench`."""

    mode: Mode = Mode.DEFAULT
    only: tuple[str, ...] = ()  # functions to run; empty = all 12
    scratch: Path = DEFAULT_SCRATCH
    seed: int = 0
    python: Path = field(default_factory=lambda: Path(sys.executable))  # the interpreter of the workers
    repo_root: Path = REPO_ROOT
    plan: TimingPlan | None = None  # None: the plan of the mode
    modules: Mapping[Impl, str] = field(default_factory=lambda: dict(DEFAULT_MODULES))
    memory: bool = True  # allocations per call (and peak RSS of large workloads)
    criterion: bool = True  # the Rust functions without Python (cargo bench), for the report's split
    import_time_repeats: int = 7  # fresh-process imports of sky_rs; 0 skips the measurement
    progress: bool = True
    # Called after each pair with (pairs done, pairs in the run), e.g. by a live telemetry sink.
    on_pair_done: Callable[[int, int], None] | None = None

    @property
    def timing_plan(self) -> TimingPlan:
        return self.plan or PLANS[self.mode]


@dataclass(frozen=True)
class _Task:
    function: str
    workload: Workload
    claimed_speedup: float | None


def _tasks(options: BenchOptions) -> list[_Task]:
    registry = build_registry()
    functions = validate_functions(options.only) if options.only else FUNCTIONS
    tasks: list[_Task] = []
    for function in functions:
        pair = registry[function]
        claimed = pair.claim.claimed_speedup if pair.claim is not None else None
        tasks.extend(_Task(function, workload, claimed) for workload in pair.workloads_for(options.mode))
    return tasks


def _run_id(started_at_unix_s: float, mode: Mode) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started_at_unix_s)) + f"-{mode}"


class _WorkerPool:
    """Timing workers, replaced when one dies; all of them are killed on exit."""

    def __init__(self, options: BenchOptions, size: int, stack: ExitStack) -> None:
        self._options = options
        self._stack = stack
        self.workers = [self._start() for _ in range(size)]

    def _start(self) -> WorkerClient:
        worker = WorkerClient(
            self._options.python,
            self._options.scratch,
            seed=self._options.seed,
            modules=self._options.modules,
            cwd=self._options.repo_root,
        )
        self._stack.callback(worker.kill)
        return worker

    def replace_dead(self) -> None:
        self.workers = [worker if worker.alive else self._start() for worker in self.workers]


def _measure_memory(
    memory_worker: WorkerClient, options: BenchOptions, function: str, workload: Workload
) -> tuple[MemorySample, MemorySample]:
    samples: dict[Impl, MemorySample] = {}
    for impl in (Impl.RUST, Impl.PYTHON):
        bytes_per_call, allocs_per_call = memory_worker.memory(function, impl, workload.id, calls=3)
        peak_rss_bytes = (
            measure_peak_rss(
                options.python,
                function,
                impl,
                workload.id,
                options.scratch,
                seed=options.seed,
                cwd=options.repo_root,
            )
            if workload.large
            else None
        )
        samples[impl] = MemorySample(
            function, impl, workload.id, bytes_per_call, allocs_per_call, peak_rss_bytes
        )
    return samples[Impl.RUST], samples[Impl.PYTHON]


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


def run_bench(options: BenchOptions) -> RunResult:
    """Measures every selected pair; returns what was measured (``interrupted=True`` after Ctrl-C)."""
    started_at = time.time()
    started_monotonic = time.monotonic()
    # Workers run in the repository root; relative paths must mean what they meant to the caller.
    options = replace(options, scratch=options.scratch.resolve(), python=options.python.absolute())
    plan = options.timing_plan
    tasks = _tasks(options)
    pairs: list[PairResult] = []
    not_comparable: list[NotComparable] = []
    call_floor: PairResult | None = None
    import_time_ns: dict[str, float] = {}
    rust_native_ns: dict[str, float] = {}
    fallback_calls: dict[str, int] = {}
    environment: dict[str, str] = {}
    interrupted = False
    with ExitStack() as stack, _progress(len(tasks) + 1, options.progress) as bar:
        try:
            bar.set_description("environment")
            environment = dict(collect_environment(options.repo_root))
            _prepare_data(tasks, options, bar.set_description)
            if options.import_time_repeats:
                bar.set_description("import time")
                for module in options.modules.values():
                    import_time_ns[module] = measure_import_time_ns(
                        options.python, module, options.import_time_repeats, cwd=options.repo_root
                    )
            pool = _WorkerPool(options, plan.processes, stack)
            memory_worker = _WorkerPool(options, 1, stack).workers[0] if options.memory else None
            bar.set_description("call floor")
            try:
                call_floor = _time_task(pool, _Task(NOOP_FUNCTION, NOOP_WORKLOAD, None), plan, options.seed)
            except WorkerError as error:
                bar.write(f"call floor not measured: {error}")
                pool.replace_dead()
            bar.update()
            for pairs_done, task in enumerate(tasks, start=1):
                bar.set_description(f"{task.function}[{task.workload.id}]")
                try:
                    difference = pool.workers[0].parity(task.function, task.workload.id)
                    if difference is not None:
                        not_comparable.append(NotComparable(task.function, task.workload.id, difference))
                    else:
                        pair = _time_task(pool, task, plan, options.seed)
                        if memory_worker is not None:
                            try:
                                rust_memory, python_memory = _measure_memory(
                                    memory_worker, options, task.function, task.workload
                                )
                                pair = replace(pair, rust_memory=rust_memory, python_memory=python_memory)
                            except (WorkerError, MemoryMeasurementError) as error:
                                bar.write(
                                    f"memory of {task.function}[{task.workload.id}] not measured: {error}"
                                )
                                if not memory_worker.alive:
                                    memory_worker = _WorkerPool(options, 1, stack).workers[0]
                        pairs.append(pair)
                except WorkerError as error:
                    # One pair that cannot be measured must not end the run; it is listed with the reason.
                    not_comparable.append(
                        NotComparable(task.function, task.workload.id, f"could not be measured: {error}")
                    )
                    pool.replace_dead()
                bar.update()
                if options.on_pair_done is not None:
                    options.on_pair_done(pairs_done, len(tasks))
            if pairs and dict(options.modules) == dict(DEFAULT_MODULES):
                bar.set_description("fallback dispatch")
                fallback_calls = _fallback_calls(tasks, pairs, options)
            if options.criterion:
                bar.set_description("criterion (Rust without Python)")
                try:
                    rust_native_ns = run_criterion(quick=options.mode is Mode.QUICK)
                except CriterionError as error:
                    bar.write(f"Rust-only Criterion times not measured: {error}")
        except KeyboardInterrupt:
            interrupted = True
    return RunResult(
        run_id=_run_id(started_at, options.mode),
        mode=str(options.mode),
        started_at_unix_s=started_at,
        duration_seconds=time.monotonic() - started_monotonic,
        environment=environment,
        pairs=tuple(pairs),
        not_comparable=tuple(not_comparable),
        call_floor=call_floor,
        import_time_ns=import_time_ns,
        rust_native_ns=rust_native_ns,
        fallback_calls=fallback_calls,
        interrupted=interrupted,
    )


def _fallback_calls(
    tasks: Sequence[_Task], pairs: Sequence[PairResult], options: BenchOptions
) -> dict[str, int]:
    """Which side harness.fallback serves on each timed workload: one pass over every batch through it.

    Tells the reader whether the timed Rust path is the one users get (the fallback routes arguments Rust
    does not support to Python). Outcomes are ignored: parity was checked already.
    """
    timed = {(pair.function, pair.workload) for pair in pairs}
    fallback.reset_served_counts()
    for task in tasks:
        if (task.function, task.workload.id) not in timed:
            continue
        prepared = prepare(task.workload, options.scratch, options.seed)
        try:
            dispatch = getattr(fallback, task.function)
            for args in prepared.batch:
                capture(partial(dispatch, *args))
        finally:
            prepared.close()
    return {
        f"{function}/{impl}": calls
        for function, by_impl in fallback.served_counts().items()
        for impl, calls in by_impl.items()
    }


def _time_task(pool: _WorkerPool, task: _Task, plan: TimingPlan, seed: int) -> PairResult:
    timing = time_pair(pool.workers, task.function, task.workload.id, plan, seed)
    return PairResult(
        function=task.function,
        workload=task.workload.id,
        size=task.workload.size,
        size_unit=task.workload.size_unit,
        rust=timing.rust,
        python=timing.python,
        speedup=timing.speedup,
        claimed_speedup=task.claimed_speedup,
        verdict=verdict(timing.speedup, task.claimed_speedup),
    )
