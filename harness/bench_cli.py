"""``skybench bench``: argument parsing for ``harness.bench.run_bench``; nothing else lives here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path

from harness import interrupts
from harness.bench import DROPPED_AT_CTRL_C, BenchOptions, run_bench
from harness.cli import UsageError, add_mode_arguments
from harness.engine import Purpose, plan_for
from harness.outputs import DEFAULT_OUT, publish_run
from harness.registry import DEFAULT_MODULES
from harness.results import Impl, RunResult
from harness.telemetry import TelemetryConfig, TelemetryConfigError, progress_callback
from harness.telemetry.cli import add_telemetry_arguments, config_from_args
from harness.worker_client import WorkerError
from harness.workloads import DEFAULT_SCRATCH, Mode

EXIT_INTERRUPTED = 130
EXIT_TOOL_ERROR = 2


# Bounds that catch a slip of the keyboard (inf, 1e9, a process per core of a cluster), not a policy.
MAX_PROCESSES = 64
MAX_MIN_TIME_SECONDS = 60.0
MAX_PAIR_BUDGET_SECONDS = 24 * 3600.0


def _bounded_float(text: str, high: float) -> float:
    """A number of seconds in (0, high]; nan and inf are refused, as they would hang or overflow."""
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from error
    if not 0 < value <= high:  # False for nan
        raise argparse.ArgumentTypeError(f"must be > 0 and <= {high:g}, got {text}")
    return value


def _bounded_int(text: str, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from error
    if value < 1 or (high is not None and value > high):
        bound = f" and <= {high}" if high is not None else ""
        raise argparse.ArgumentTypeError(f"must be >= 1{bound}, got {text}")
    return value


_positive_int = partial(_bounded_int, high=None)
_processes = partial(_bounded_int, high=MAX_PROCESSES)
_min_time_seconds = partial(_bounded_float, high=MAX_MIN_TIME_SECONDS)
_pair_budget_seconds = partial(_bounded_float, high=MAX_PAIR_BUDGET_SECONDS)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of every command that runs the bench and publishes a run (``bench``, ``baseline``)."""
    add_mode_arguments(
        parser,
        quick_help="small workloads, few rounds (about a minute)",
        full_help="add the 1 GB / 1 GiB workloads and more rounds",
        only_help="measure only this function (repeatable); one of: ",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="reports folder (default: %(default)s)")
    parser.add_argument(
        "--scratch", type=Path, default=DEFAULT_SCRATCH, help="workload data folder (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the workload data (default: %(default)s)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip allocation and peak-RSS measurements")
    parser.add_argument(
        "--no-criterion", action="store_true", help="skip the Rust-only Criterion benches (cargo bench)"
    )
    parser.add_argument(
        "--no-floors", action="store_true", help="skip the physical floors (cargo bench --bench floors)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_telemetry_arguments(parser)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time every Rust/Python pair and write a run folder",
        description="Time every Rust/Python pair side by side (parity checked first) and write "
        "OUT/runs/<run_id>/ with run.json, results.csv, speedups.csv, pyperf JSON files, report.md, "
        "charts and metrics.prom, and OUT/latest; then send the run to the configured telemetry servers.",
    )
    add_run_arguments(parser)
    tuning = parser.add_argument_group("timing (defaults depend on --quick/--full)")
    tuning.add_argument("--processes", type=_processes, help="worker processes the rounds rotate over")
    tuning.add_argument(
        "--min-rounds", type=_positive_int, help="rounds per pair before stopping is considered"
    )
    tuning.add_argument("--max-rounds", type=_positive_int, help="the cap on rounds per pair")
    tuning.add_argument("--min-time", type=_min_time_seconds, help="seconds one timed value should last")
    tuning.add_argument(
        "--pair-budget", type=_pair_budget_seconds, help="seconds per pair before rounds stop"
    )
    parser.add_argument(
        "--rust-module",
        default=DEFAULT_MODULES[Impl.RUST],
        help="module of the Rust side (default: %(default)s)",
    )
    parser.add_argument(
        "--python-module",
        default=DEFAULT_MODULES[Impl.PYTHON],
        help="module of the Python side (default: %(default)s)",
    )
    parser.set_defaults(handler=bench_command)


def options_from_arguments(args: argparse.Namespace) -> BenchOptions:
    """Bench options from parsed arguments; commands that reuse it (baseline) may lack the tuning flags."""
    mode = Mode.QUICK if args.quick else Mode.FULL if args.full else Mode.DEFAULT
    plan = plan_for(Purpose.BENCH, mode)
    overrides = {
        "processes": getattr(args, "processes", None),
        "min_rounds": getattr(args, "min_rounds", None),
        "max_rounds": getattr(args, "max_rounds", None),
        "min_time_s": getattr(args, "min_time", None),
        "pair_budget_s": getattr(args, "pair_budget", None),
    }
    given = {name: value for name, value in overrides.items() if value is not None}
    if "min_rounds" in given and "max_rounds" not in given:
        given["max_rounds"] = max(plan.max_rounds, given["min_rounds"])
    try:
        plan = replace(plan, **given)
    except ValueError as error:
        raise UsageError(str(error)) from error
    return BenchOptions(
        mode=mode,
        only=tuple(args.only or ()),
        scratch=args.scratch,
        seed=args.seed,
        plan=plan,
        modules={
            Impl.RUST: getattr(args, "rust_module", DEFAULT_MODULES[Impl.RUST]),
            Impl.PYTHON: getattr(args, "python_module", DEFAULT_MODULES[Impl.PYTHON]),
        },
        memory=not args.no_memory,
        criterion=not getattr(args, "no_criterion", False),
        floors=not getattr(args, "no_floors", False),
        progress=not args.no_progress,
    )


def measure_and_publish(args: argparse.Namespace) -> tuple[RunResult, Path]:
    """Runs the bench as the arguments say, writes the run folder and sends the run to the telemetry sinks.

    Raises UsageError for a bad telemetry address, WorkerError/OSError when the tool itself fails.
    """
    options = options_from_arguments(args)
    try:
        telemetry = config_from_args(args)
    except TelemetryConfigError as error:
        raise UsageError(str(error)) from error
    options = replace(
        options,
        progress_sink=partial(_progress_sink, telemetry, str(options.mode)),
    )
    # Under the command's interrupts.ctrl_c_policy(), Ctrl-C stops only the measuring inside run_bench;
    # a press while the run folder is written is noted (interrupts.pressed()) and the folder finished.
    run = run_bench(options)
    return run, publish_run(run, args.out, telemetry)


def _progress_sink(
    telemetry: TelemetryConfig, mode: str, environment: Mapping[str, str]
) -> Callable[[int, int], None] | None:
    return progress_callback(telemetry, mode=mode, environment=environment)


def measure_and_summarise(
    args: argparse.Namespace, command: str, *, when_interrupted: str
) -> tuple[int, RunResult | None]:
    """``measure_and_publish`` with the commands' shared ending: a summary line, and the exit code.

    Returns (exit code, the run) for a complete run, (exit code, None) for a failed or interrupted one,
    and for a complete one whose writing saw a Ctrl-C (the folder is whole; the command must not go on).
    Call it inside ``interrupts.ctrl_c_policy()``.
    """
    try:
        run, run_dir = measure_and_publish(args)
    except (WorkerError, OSError) as error:
        # The tool itself failed (a worker that cannot start, a folder that cannot be written): exit 2.
        print(f"skybench {command}: error: {error}", file=sys.stderr)
        return EXIT_TOOL_ERROR, None
    print(f"{len(run.pairs)} pairs timed, {len(run.not_comparable)} not comparable; results in {run_dir}")
    dropped = [f"{n.function}[{n.workload}]" for n in run.not_comparable if n.difference == DROPPED_AT_CTRL_C]
    if dropped:
        print(f"dropped at Ctrl-C (measured in part, not kept): {', '.join(dropped)}", file=sys.stderr)
    if run.interrupted:
        print(f"interrupted: {when_interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED, None
    if interrupts.pressed():
        print(
            f"interrupted after the measurement, {run_dir} written in full: {when_interrupted}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED, None
    return 0, run


def bench_command(args: argparse.Namespace) -> int:
    with interrupts.ctrl_c_policy():
        exit_code, _ = measure_and_summarise(
            args, "bench", when_interrupted="the run folder holds what was measured before Ctrl-C"
        )
    return exit_code
