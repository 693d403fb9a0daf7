"""``--pairs MODULE``: the one option every command that times pairs takes (``add_pairs_argument``).

The modules are registered while the command line is parsed, before any other option is checked, so
``--only`` accepts their pairs wherever ``--pairs`` stands. Modules named in ``SKYBENCH_PAIRS`` or in
``pyproject.toml``'s ``[tool.skybench] pairs`` are registered at the same moment. A module that cannot be
registered is a usage error: one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness.functions.registry import PairsError, declared_pairs, register_pairs

PAIRS_HELP = (
    "also time the pairs MODULE declares (its PAIRS; repeatable; see docs/pairs.md). Also read from "
    "SKYBENCH_PAIRS and from [tool.skybench] pairs in ./pyproject.toml"
)


def _pairs_named_in(arguments: Sequence[str]) -> list[str]:
    """The ``--pairs`` values of a command line; a malformed one is left for the real parse to report."""
    scan = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    scan.add_argument("--pairs", action="append", default=[])
    try:
        known, _ = scan.parse_known_args(list(arguments))
    except argparse.ArgumentError:
        return []
    return list(known.pairs)


def register_named_pairs(modules: Sequence[str]) -> None:
    """Registers the configured modules (SKYBENCH_PAIRS, pyproject.toml), then ``modules``; or PairsError."""
    declared_pairs()  # loads the configured ones
    for module_name in modules:
        register_pairs(module_name)


def add_pairs_argument(parser: argparse.ArgumentParser) -> None:
    """Adds ``--pairs MODULE`` to ``parser`` and registers the modules as the parser starts parsing."""
    parser.add_argument("--pairs", action="append", default=[], metavar="MODULE", help=PAIRS_HELP)
    parse_known_args = parser.parse_known_args

    # The parser (a subcommand's, too: argparse calls the subparser's parse_known_args) registers first.
    def registering_first(
        args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        try:
            register_named_pairs(_pairs_named_in(sys.argv[1:] if args is None else args))
        except PairsError as error:
            parser.error(str(error))
        return parse_known_args(args, namespace)

    parser.parse_known_args = registering_first  # type: ignore[method-assign,assignment]


__all__ = ["PAIRS_HELP", "add_pairs_argument", "register_named_pairs"]
