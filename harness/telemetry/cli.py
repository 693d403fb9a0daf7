"""Command-line layer of the telemetry: the sink flags and the ``publish RUN_DIR`` subcommand.

Parsing only; the work is in ``config``, ``emit`` and ``publish``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.cli import Parser, run_handler
from harness.inputs import InputFileError, one_line
from harness.telemetry.config import (
    DEFAULT_SEND_TIMEOUT_SECONDS,
    ENV_PUSHGATEWAY,
    ENV_STATSD,
    ENV_STATSD_PREFIX,
    MAX_SEND_TIMEOUT_SECONDS,
    MIN_SEND_TIMEOUT_SECONDS,
    TelemetryConfig,
    TelemetryConfigError,
    check_send_timeout,
    resolve_config,
)
from harness.telemetry.publish import PublishError, publish

EXIT_OK = 0
EXIT_NOT_DELIVERED = 1
EXIT_USAGE = 2


def _send_timeout_seconds(text: str) -> float:
    """``--telemetry-timeout``: seconds, bounded (nan, inf and 1e10 would overflow a socket timeout)."""
    try:
        return check_send_timeout(float(text), "--telemetry-timeout")
    except ValueError as error:  # float()'s own, or TelemetryConfigError
        raise argparse.ArgumentTypeError(
            f"expected {MIN_SEND_TIMEOUT_SECONDS:g} to {MAX_SEND_TIMEOUT_SECONDS:g} seconds, got {text!r}"
        ) from error


def add_telemetry_arguments(parser: argparse.ArgumentParser) -> None:
    """The sink flags, for every command that sends a run (``bench``, ``baseline``, ``publish``...)."""
    group = parser.add_argument_group("telemetry (flag > environment > [tool.skybench] in pyproject.toml)")
    group.add_argument(
        "--pushgateway",
        metavar="HOST:PORT",
        help=f"push the run to this Prometheus Pushgateway (${ENV_PUSHGATEWAY})",
    )
    group.add_argument(
        "--statsd", metavar="HOST:PORT", help=f"send gauges to this StatsD server (${ENV_STATSD})"
    )
    group.add_argument("--statsd-prefix", metavar="PREFIX", help=f"StatsD name prefix (${ENV_STATSD_PREFIX})")
    group.add_argument(
        "--no-push",
        action="store_true",
        help="send to no server (metrics.prom is still written to the run folder)",
    )
    group.add_argument(
        "--telemetry-timeout",
        metavar="SECONDS",
        type=_send_timeout_seconds,
        default=DEFAULT_SEND_TIMEOUT_SECONDS,
        help=f"bound on each network send, {MIN_SEND_TIMEOUT_SECONDS:g} to {MAX_SEND_TIMEOUT_SECONDS:g} "
        "(default: %(default)s)",
    )


def config_from_args(args: argparse.Namespace) -> TelemetryConfig:
    """The telemetry settings of a parsed command line (raises TelemetryConfigError on a bad address)."""
    return resolve_config(
        pushgateway_flag=args.pushgateway,
        statsd_flag=args.statsd,
        statsd_prefix_flag=args.statsd_prefix,
        no_push=args.no_push,
        send_timeout_seconds=args.telemetry_timeout,
    )


def run_publish_command(args: argparse.Namespace) -> int:
    """``publish RUN_DIR``: 0 when every sink is delivered, 1 when one is not, 2 on a usage error or a bad
    file in the folder (nothing is sent then)."""
    try:
        config = config_from_args(args)
        report = publish(Path(args.run_dir), config, force=args.force)
    except (TelemetryConfigError, PublishError, InputFileError) as error:
        print(f"skybench publish: error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    for sink in report.sinks:
        state = "delivered" if sink.delivered else "NOT delivered"
        print(f"{sink.sink}: {state} ({sink.target})")
    return EXIT_OK if report.all_delivered else EXIT_NOT_DELIVERED


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    """``python -m harness.telemetry publish RUN_DIR``, usable before the main CLI wires it in."""
    parser: argparse.ArgumentParser = Parser(prog="python -m harness.telemetry")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_handler(args.command, args.handler, args)
