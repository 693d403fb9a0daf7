"""``skybench publish RUN_DIR``: send a stored run to the servers now (the work: telemetry.publish)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.commands.arguments import Subparsers, add_telemetry_arguments, telemetry_config
from harness.commands.errors import EXIT_OK, EXIT_USAGE, Parser, run_handler
from harness.inputs import InputFileError, one_line
from harness.telemetry.config import TelemetryConfigError
from harness.telemetry.publish import PublishError, publish

EXIT_NOT_DELIVERED = 1


def run_publish_command(args: argparse.Namespace) -> int:
    """``publish RUN_DIR``: 0 when every sink is delivered, 1 when one is not, 2 on a usage error or a bad
    file in the folder (nothing is sent then)."""
    try:
        config = telemetry_config(args)
        report = publish(Path(args.run_dir), config, force=args.force)
    except (TelemetryConfigError, PublishError, InputFileError) as error:
        print(f"skybench publish: error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    for sink in report.sinks:
        state = "delivered" if sink.delivered else "NOT delivered"
        print(f"{sink.sink}: {state} ({sink.target})")
    return EXIT_OK if report.all_delivered else EXIT_NOT_DELIVERED


def register(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    """Add ``publish RUN_DIR`` to a parser's subcommands; its ``handler(args) -> int`` runs it."""
    parser = subparsers.add_parser(
        "publish",
        help="send a stored run (run folder) to the Pushgateway/StatsD now",
        description="Send a stored run to the servers; what a run could not send is kept in RUN_DIR/unsent/.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (reports/runs/<id>)")
    parser.add_argument("--force", action="store_true", help="send again to sinks already delivered")
    add_telemetry_arguments(parser)
    parser.set_defaults(handler=run_publish_command)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.telemetry publish RUN_DIR``, the older spelling of ``skybench publish``."""
    parser: argparse.ArgumentParser = Parser(prog="python -m harness.telemetry")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_handler(args.command, args.handler, args)
