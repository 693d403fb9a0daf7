"""``skybench baseline``: run the bench, publish its run folder, record it as this machine's baseline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import interrupts
from harness.commands.arguments import Subparsers, mode_of
from harness.commands.bench import add_run_arguments, measure_and_summarise, run_command_options
from harness.commands.errors import EXIT_INTERRUPTED
from harness.functions.registry import DEFAULT_MODULES
from harness.measure.engine import Purpose, plan_for
from harness.sinks.baseline import BASELINES_DIR, record_baseline


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
    parser.set_defaults(handler=baseline_command)


def baseline_command(arguments: argparse.Namespace) -> int:
    """The ``baseline`` command: bench, publish, compare with the previous baseline, overwrite it.

    In that order, each step whole: a Ctrl-C stops the measuring, or is noted while the run folder or the
    baseline is written; the step in progress finishes and the next one does not start (exit 130).
    """
    # A baseline is always of the default modules and the mode's own timing plan: the bench's tuning
    # options are not offered.
    options = run_command_options(
        arguments, plan=plan_for(Purpose.BENCH, mode_of(arguments)), modules=DEFAULT_MODULES
    )
    with interrupts.ctrl_c_policy():
        exit_code, run = measure_and_summarise(
            options, "baseline", when_interrupted="the baseline was not recorded"
        )
        if run is None:
            return exit_code
        csv_path, changes = record_baseline(run, arguments.baselines_dir)
    print(f"Changes against the previous baseline ({csv_path.name}):")
    for line in changes:
        print(f"  {line}")
    print(f"Baseline written: {csv_path} (+ {csv_path.with_suffix('.json').name})")
    if interrupts.pressed():
        print("interrupted while the baseline was written: it was written in full", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
