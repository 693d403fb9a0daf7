"""``python -m harness history``: change points across runs, baselines and a Prometheus-compatible store.

Exit codes: 0 done (steps or not), 1 with ``--fail-on-regression`` when a regression step is new (among a
series' last ``--new-within`` points), 2 on bad input (a folder that is not there, a corrupt run or baseline,
a store that does not answer) or when no source gave any series: a nightly job pointed at the wrong place must
not pass quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.commands.arguments import (
    Subparsers,
    bounded_float,
    only_of,
    positive_finite_float,
    positive_int,
)
from harness.commands.errors import EXIT_OK, EXIT_USAGE
from harness.history.analysis import (
    DAY_S,
    DEFAULT_BASELINES,
    DEFAULT_OUT,
    DEFAULT_RUNS,
    HistoryOptions,
    publish_history,
    run_history,
)
from harness.history.changes import DEFAULT_MIN_EFFECT
from harness.history.series import HistoryInputError

EXIT_NEW_REGRESSION = 1
ENV_PUSHGATEWAY = "SKYBENCH_PUSHGATEWAY"


def options_from_args(args: argparse.Namespace) -> HistoryOptions:
    return HistoryOptions(
        runs=None if args.no_runs else args.runs,
        baselines=None if args.no_baselines else args.baselines,
        prometheus=args.prometheus,
        since_s=args.since_days * DAY_S,
        timeout_s=args.timeout,
        only=only_of(args),
        min_effect=args.min_effect,
        new_within=args.new_within,
        out=args.out,
        pushgateway=_pushgateway(args.pushgateway or os.environ.get(ENV_PUSHGATEWAY) or None),
    )


def _pushgateway(text: str | None) -> str | None:
    from harness.telemetry.config import parse_host_port  # noqa: PLC0415

    return None if text is None else str(parse_host_port(text, f"--pushgateway / ${ENV_PUSHGATEWAY}"))


def handle(args: argparse.Namespace) -> int:
    from harness.history.telemetry import HistoryPushError  # noqa: PLC0415
    from harness.telemetry.config import TelemetryConfigError  # noqa: PLC0415

    try:
        options = options_from_args(args)
        history = run_history(options)
        markdown = publish_history(history, options)
    except (HistoryInputError, HistoryPushError, TelemetryConfigError, OSError) as error:
        print(f"skybench history: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    regressions = sum(step.is_regression for step in history.steps)
    print(
        f"history: {len(history.series)} series, {len(history.steps)} step(s) ({regressions} regression(s), "
        f"{len(history.new_regressions)} new); see {markdown}"
    )
    if args.fail_on_regression and history.new_regressions:
        return EXIT_NEW_REGRESSION
    return EXIT_OK


def register(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "history",
        help="change points per function, side and workload across runs, baselines and Prometheus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=Path, default=DEFAULT_RUNS, metavar="DIR", help="run folders")
    parser.add_argument("--no-runs", action="store_true", help="do not read run folders")
    parser.add_argument("--baselines", type=Path, default=DEFAULT_BASELINES, metavar="DIR")
    parser.add_argument("--no-baselines", action="store_true", help="do not read the baselines' git history")
    parser.add_argument("--prometheus", metavar="URL", help="also read skybench_ series from this store")
    parser.add_argument(
        "--since-days", type=positive_finite_float, default=90.0, help="how far back the store"
    )
    parser.add_argument("--timeout", type=positive_finite_float, default=10.0, metavar="SECONDS")
    parser.add_argument("--only", action="append", metavar="FUNCTION", help="only this function")
    parser.add_argument(
        "--min-effect",
        type=bounded_float(low=0.0, high=10.0, low_inclusive=True, high_inclusive=False),
        default=DEFAULT_MIN_EFFECT,
        help="0.05 = 5%%",
    )
    parser.add_argument("--new-within", type=positive_int, default=3, metavar="POINTS")
    parser.add_argument("--fail-on-regression", action="store_true", help="exit 1 on a new regression step")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR")
    parser.add_argument(
        "--pushgateway",
        metavar="HOST:PORT",
        help=f"push the change points, for the dashboards' annotations (${ENV_PUSHGATEWAY})",
    )
    parser.set_defaults(handler=handle)
