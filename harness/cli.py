"""``skybench`` / ``python -m harness``: the dispatcher over the command modules of ``harness.commands``.

Each command module registers its own subcommands (``register(subparsers) -> None``) and sets ``handler``,
a function from the parsed arguments to an exit code, run under ``harness.commands.errors.run_handler``. A
module listed here must import: a broken feature is an error, never a silently missing command.

Feature modules pull in matplotlib, scipy, memray and the like, which take seconds to import; so ``main``
imports only the module of the command being run. The other commands appear in ``--help`` as stubs built
from ``FEATURES`` (a test checks that each summary matches the one its module registers).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from harness.commands.errors import EXIT_USAGE, Parser, run_handler


@dataclass(frozen=True)
class Feature:
    """A module that adds subcommands, and the one-line summary of each (as shown by ``skybench --help``)."""

    module: str
    commands: Mapping[str, str]


# In the order of `--help`.
FEATURES: tuple[Feature, ...] = (
    Feature("harness.commands.bench", {"bench": "time every Rust/Python pair and write a run folder"}),
    Feature(
        "harness.commands.baseline",
        {"baseline": "run the bench and record it as this machine's baseline under reports/baselines/"},
    ),
    Feature(
        "harness.commands.gate",
        {
            "gate": "regression gate: this tree against a commit (interleaved), a baseline, or instruction "
            "counts",
            "calibrate": "A/A runs: noise floor and smallest detectable slowdown per comparison on this "
            "machine",
            "experiment": "inject known slowdowns and run A/A comparisons: the gate's detection and "
            "false-alarm rates",
        },
    ),
    Feature(
        "harness.commands.publish",
        {"publish": "send a stored run (run folder) to the Pushgateway/StatsD now"},
    ),
    Feature(
        "harness.commands.history",
        {"history": "change points per function, side and workload across runs, baselines and Prometheus"},
    ),
)


def build_parser(
    features: Sequence[Feature] = FEATURES, load: Collection[str] | None = None
) -> argparse.ArgumentParser:
    """The parser; ``load`` names the commands whose modules are imported (None: all of them).

    A feature none of whose commands is in ``load`` gets stubs: its commands are listed with their summary
    but cannot be run from this parser.
    """
    parser = Parser(
        prog="skybench",
        description="Benchmark the sky_rs Rust port of 12 SkyPilot functions against the Python reference.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for feature in features:
        if load is None or any(command in load for command in feature.commands):
            importlib.import_module(feature.module).register(subparsers)
            continue
        for command, summary in feature.commands.items():
            subparsers.add_parser(command, help=summary, add_help=False)
    return parser


def requested_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line: its first argument that is not an option."""
    # The top-level parser has no option that takes a value, so the first positional is the command.
    return next((argument for argument in argv if not argument.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    command = requested_command(arguments)
    parser = build_parser(load=set() if command is None else {command})
    args = parser.parse_args(arguments)
    handler = getattr(args, "handler", None)
    if handler is None or command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return run_handler(command, handler, args)
