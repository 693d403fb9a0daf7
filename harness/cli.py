"""``skybench`` / ``python -m harness``: the command line.

Each feature module registers its own subcommands (``register(subparsers) -> None``) and sets ``handler``, a
plain function from the parsed arguments to an exit code. A module listed here must import: a broken feature
is an error, never a silently missing command.

Feature modules pull in matplotlib, scipy, memray and the like, which take seconds to import; so ``main``
imports only the module of the command being run. The other commands appear in ``--help`` as stubs built
from ``FEATURES`` (a test checks that each summary matches the one its module registers).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from harness.inputs import InputFileError, one_line


@dataclass(frozen=True)
class Feature:
    """A module that adds subcommands, and the one-line summary of each (as shown by ``skybench --help``)."""

    module: str
    commands: Mapping[str, str]


# In the order of `--help`.
FEATURES: tuple[Feature, ...] = (
    Feature("harness.bench_cli", {"bench": "time every Rust/Python pair and write a run folder"}),
    Feature(
        "harness.baseline",
        {"baseline": "run the bench and record it as this machine's baseline under reports/baselines/"},
    ),
    Feature(
        "harness.gate.cli",
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
        "harness.telemetry.cli", {"publish": "send a stored run (run folder) to the Pushgateway/StatsD now"}
    ),
    Feature(
        "harness.history.cli",
        {"history": "change points per function, side and workload across runs, baselines and Prometheus"},
    ),
)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def add_mode_arguments(
    parser: argparse.ArgumentParser, *, quick_help: str, full_help: str, only_help: str
) -> None:
    """``--quick`` / ``--full`` (exclusive), ``--only FUNCTION``, ``--pairs MODULE``: measuring commands."""
    from harness.pairs.arguments import add_pairs_argument  # noqa: PLC0415  (as FUNCTIONS below)
    from harness.registry import FUNCTIONS  # noqa: PLC0415  (kept out of `--help` of other commands)

    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=quick_help)
    size.add_argument("--full", action="store_true", help=full_help)
    parser.add_argument(
        "--only",
        action="append",
        choices=FUNCTIONS,
        metavar="FUNCTION",
        help=only_help + "%(choices)s",  # the registry's names when help is shown (--pairs ones included)
    )
    add_pairs_argument(parser)


class UsageError(ValueError):
    """Arguments that parse but do not make sense together; the command exits 2 with the message."""


class Parser(argparse.ArgumentParser):
    """argparse with a usage error on one line (what is wrong, and where the options are), exit 2.

    The full usage block argparse prints first buries the one line that matters; ``--help`` still shows it.
    Subcommand parsers are of the same class (``add_subparsers`` uses the parent's).
    """

    def error(self, message: str) -> NoReturn:
        flat = " ".join(message.split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {flat} (see {self.prog} --help)\n")


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


def run_handler(command: str, handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command's handler under the error policy every command shares.

    A bad argument (``UsageError``), a bad input file (``InputFileError``, raised where the file is read) or
    a file system that refuses (``OSError``: a full disk, a read-only folder) is exit 2 with one line naming
    the problem. Anything else escaping a handler is a bug of the harness: still one line and exit 2, never
    a traceback that CI might read as a verdict.
    """
    try:
        return handler(args)
    except (UsageError, InputFileError, OSError) as error:
        print(f"skybench {command}: error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"skybench {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last resort: the tests show each known bad input is validated earlier
        print(
            f"skybench {command}: internal error: {type(error).__name__}: {one_line(str(error))} "
            "(please report)",
            file=sys.stderr,
        )
        return EXIT_USAGE


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
