"""``skybench`` / ``python -m harness``: the command line.

Each feature module registers its own subcommands (``register(subparsers) -> None``) and sets ``handler``, a
plain function from the parsed arguments to an exit code. A module listed here must import: a broken feature
is an error, never a silently missing command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that add subcommands, in the order of `--help`.
FEATURE_MODULES: tuple[str, ...] = (
    "harness.bench_cli",
    "harness.baseline",
    "harness.gate.cli",
    "harness.telemetry.cli",
)

EXIT_OK = 0
EXIT_USAGE = 2


class UsageError(ValueError):
    """Arguments that parse but do not make sense together; the command exits 2 with the message."""


def build_parser(feature_modules: Sequence[str] = FEATURE_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skybench",
        description="Benchmark the sky_rs Rust port of 12 SkyPilot functions against the Python reference.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in feature_modules:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        exit_code: int = handler(args)
    except UsageError as error:
        print(f"skybench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return exit_code
