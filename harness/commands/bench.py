"""``skybench bench``: argument parsing for ``harness.measure.bench.run_bench``; nothing else lives here.

``add_run_arguments`` and ``measure_and_summarise`` are shared with ``baseline``, which runs the bench too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from harness import interrupts
from harness.commands.arguments import (
    Subparsers,
    add_mode_arguments,
    add_scratch_argument,
    add_telemetry_arguments,
    bounded_float,
    bounded_int,
    mode_of,
    only_of,
    positive_int,
    telemetry_config,
)
from harness.commands.errors import EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from harness.functions.registry import DEFAULT_MODULES
from harness.measure.bench import DROPPED_AT_CTRL_C, BenchOptions, run_bench
from harness.measure.engine import MeasurePlan, Purpose, plan_for
from harness.measure.worker_client import WorkerError
from harness.results import Impl, RunResult
from harness.sinks.run_folder import DEFAULT_OUT, publish_run
from harness.telemetry import TelemetryConfig, TelemetryConfigError, progress_callback

# Bounds that catch a slip of the keyboard (inf, 1e9, a process per core of a cluster), not a policy.
MAX_PROCESSES = 64
MAX_MIN_TIME_SECONDS = 60.0
MAX_PAIR_BUDGET_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class RunCommandOptions:
    """What a command that runs the bench (``bench``, ``baseline``) does besides measuring."""

    bench: BenchOptions
    out: Path  # the reports folder the run folder goes under
    telemetry: TelemetryConfig


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of every command that runs the bench and publishes a run (``bench``, ``baseline``)."""
    add_mode_arguments(
        parser,
        quick_help="small workloads, few rounds (about a minute)",
        full_help="add the 1 GB / 1 GiB workloads and more rounds",
        only_help="measure only this function (repeatable); one of: ",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="reports folder (default: %(default)s)")
    add_scratch_argument(parser, show_default=True)
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


def _add_tuning_arguments(parser: argparse.ArgumentParser) -> None:
    tuning = parser.add_argument_group("timing (defaults depend on --quick/--full)")
    tuning.add_argument(
        "--processes",
        type=bounded_int(low=1, high=MAX_PROCESSES),
        help="worker processes the rounds rotate over",
    )
    tuning.add_argument(
        "--min-rounds", type=positive_int, help="rounds per pair before stopping is considered"
    )
    tuning.add_argument("--max-rounds", type=positive_int, help="the cap on rounds per pair")
    tuning.add_argument(
        "--min-time",
        type=bounded_float(low=0.0, high=MAX_MIN_TIME_SECONDS),
        help="seconds one timed value should last",
    )
    tuning.add_argument(
        "--pair-budget",
        type=bounded_float(low=0.0, high=MAX_PAIR_BUDGET_SECONDS),
        help="seconds per pair before rounds stop",
    )


def register(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time every Rust/Python pair and write a run folder",
        description="Time every Rust/Python pair side by side (parity checked first) and write "
        "OUT/runs/<run_id>/ with run.json, results.csv, speedups.csv, pyperf JSON files, report.md, "
        "charts and metrics.prom, and OUT/latest; then send the run to the configured telemetry servers.",
    )
    add_run_arguments(parser)
    _add_tuning_arguments(parser)
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


def tuned_plan(args: argparse.Namespace) -> MeasurePlan:
    """The mode's timing plan with the tuning flags of ``bench`` applied (UsageError if they clash)."""
    plan = plan_for(Purpose.BENCH, mode_of(args))
    overrides = {
        "processes": args.processes,
        "min_rounds": args.min_rounds,
        "max_rounds": args.max_rounds,
        "min_time_s": args.min_time,
        "pair_budget_s": args.pair_budget,
    }
    given = {name: value for name, value in overrides.items() if value is not None}
    if "min_rounds" in given and "max_rounds" not in given:
        given["max_rounds"] = max(plan.max_rounds, given["min_rounds"])
    try:
        return replace(plan, **given)
    except ValueError as error:
        raise UsageError(str(error)) from error


def run_command_options(
    args: argparse.Namespace, *, plan: MeasurePlan, modules: Mapping[Impl, str]
) -> RunCommandOptions:
    """The options of ``add_run_arguments``' flags, with the plan and the sides' modules the command chose.

    Raises UsageError for a bad telemetry address (before anything is measured).
    """
    try:
        telemetry = telemetry_config(args)
    except TelemetryConfigError as error:
        raise UsageError(str(error)) from error
    mode = mode_of(args)
    bench = BenchOptions(
        mode=mode,
        only=only_of(args),
        scratch=args.scratch,
        seed=args.seed,
        plan=plan,
        modules=dict(modules),
        memory=not args.no_memory,
        criterion=not args.no_criterion,
        floors=not args.no_floors,
        progress=not args.no_progress,
        progress_sink=partial(_progress_sink, telemetry, str(mode)),
    )
    return RunCommandOptions(bench=bench, out=args.out, telemetry=telemetry)


def _progress_sink(
    telemetry: TelemetryConfig, mode: str, environment: Mapping[str, str]
) -> Callable[[int, int], None] | None:
    return progress_callback(telemetry, mode=mode, environment=environment)


def measure_and_summarise(
    options: RunCommandOptions, command: str, *, when_interrupted: str
) -> tuple[int, RunResult | None]:
    """Run the bench, write the run folder, send it; then the commands' shared summary line and exit code.

    Returns (exit code, the run) for a complete run, (exit code, None) for a failed or interrupted one,
    and for a complete one whose writing saw a Ctrl-C (the folder is whole; the command must not go on).
    Call it inside ``interrupts.ctrl_c_policy()``: Ctrl-C stops only the measuring inside run_bench; a
    press while the run folder is written is noted (interrupts.pressed()) and the folder finished.
    """
    try:
        run = run_bench(options.bench)
        run_dir = publish_run(run, options.out, options.telemetry)
    except (WorkerError, OSError) as error:
        # The tool itself failed (a worker that cannot start, a folder that cannot be written): exit 2.
        print(f"skybench {command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE, None
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
    options = run_command_options(
        args,
        plan=tuned_plan(args),
        modules={Impl.RUST: args.rust_module, Impl.PYTHON: args.python_module},
    )
    with interrupts.ctrl_c_policy():
        exit_code, _ = measure_and_summarise(
            options, "bench", when_interrupted="the run folder holds what was measured before Ctrl-C"
        )
    return exit_code
