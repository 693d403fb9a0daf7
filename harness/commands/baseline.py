"""``skybench baseline``: run the bench, publish its run folder, record it as this machine's baseline.

``--from-run RUN_DIR`` records a finished run instead of measuring (a default run made on a quiet machine
is worth keeping); ``harness.sinks.baseline_source`` refuses a run ``baseline`` itself would not have made.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import interrupts
from harness.commands.arguments import Subparsers, mode_of
from harness.commands.bench import add_run_arguments, measure_and_summarise, run_command_options
from harness.commands.errors import EXIT_INTERRUPTED, UsageError
from harness.functions.registry import DEFAULT_MODULES, build_registry
from harness.measure.engine import Purpose, plan_for
from harness.results import RunResult
from harness.run_json import load_run
from harness.sinks.baseline import BASELINES_DIR, record_baseline
from harness.sinks.baseline_source import check_recordable


def register(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    """Add the ``baseline`` subcommand: run the bench, publish the run folder, record it as the baseline."""
    parser = subparsers.add_parser(
        "baseline",
        help="run the bench and record it as this machine's baseline under reports/baselines/",
        description=(
            "Run the bench (as `bench` does, with its run folder), print what changed against the previous "
            "baseline of this kind of machine, then write reports/baselines/<fingerprint>.csv and .json."
        ),
    )
    add_run_arguments(parser)
    parser.add_argument(
        "--baselines-dir",
        type=Path,
        default=BASELINES_DIR,
        help="folder of the baseline files (default: %(default)s)",
    )
    parser.add_argument(
        "--from-run",
        type=Path,
        metavar="RUN_DIR",
        help=(
            "record this finished run folder (reports/runs/<id>) instead of measuring: a whole, "
            "uninterrupted bench run of every default workload of its mode, with the mode's own rounds"
        ),
    )
    parser.set_defaults(handler=baseline_command)


def baseline_command(arguments: argparse.Namespace) -> int:
    """The ``baseline`` command: bench, publish, compare with the previous baseline, overwrite it.

    In that order, each step whole: a Ctrl-C stops the measuring, or is noted while the run folder or the
    baseline is written; the step in progress finishes and the next one does not start (exit 130).
    """
    with interrupts.ctrl_c_policy():
        if arguments.from_run is not None:
            run = _recordable_run(arguments)
        else:
            # A baseline is always of the default modules and the mode's own timing plan: the bench's
            # tuning options are not offered.
            options = run_command_options(
                arguments, plan=plan_for(Purpose.BENCH, mode_of(arguments)), modules=DEFAULT_MODULES
            )
            exit_code, measured = measure_and_summarise(
                options, "baseline", when_interrupted="the baseline was not recorded"
            )
            if measured is None:
                return exit_code
            run = measured
        csv_path, changes = record_baseline(run, arguments.baselines_dir)
    print(f"Changes against the previous baseline ({csv_path.name}):")
    for line in changes:
        print(f"  {line}")
    print(f"Baseline written: {csv_path} (+ {csv_path.with_suffix('.json').name})")
    if interrupts.pressed():
        print("interrupted while the baseline was written: it was written in full", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


# What a run measures is its own: these flags of the measuring path mean nothing beside --from-run.
_MEASURING_FLAGS = ("quick", "full", "only", "no_memory", "no_criterion", "no_floors")


def _recordable_run(arguments: argparse.Namespace) -> RunResult:
    """The run of ``--from-run``, checked to be one ``baseline`` would have recorded (else exit 2, why)."""
    given = [name for name in _MEASURING_FLAGS if getattr(arguments, name)]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise UsageError(
            f"{flag} measures; --from-run records a finished run with its own mode and functions"
        )
    run_dir: Path = arguments.from_run
    run = load_run(run_dir)
    if run is None:
        raise UsageError(f"{run_dir}: no run.json here: --from-run takes a run folder (reports/runs/<id>)")
    check_recordable(run, build_registry(), run_dir)
    return run
