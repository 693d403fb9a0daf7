"""``python -m harness history``: change points across runs, baselines and a Prometheus-compatible store.

Exit codes: 0 done (steps or not), 1 with ``--fail-on-regression`` when a regression step is new (among a
series' last ``--new-within`` points), 2 on bad input (a folder that is not there, a corrupt run or baseline,
a store that does not answer) or when no source gave any series: a nightly job pointed at the wrong place must
not pass quietly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.history.changes import DEFAULT_MIN_EFFECT, find_steps, is_new_regression
from harness.history.outputs import History, write_history
from harness.history.series import (
    HistoryInputError,
    Series,
    from_baseline_history,
    from_prometheus,
    from_run_folders,
)

EXIT_OK = 0
EXIT_NEW_REGRESSION = 1
EXIT_USAGE = 2
REPO = Path(__file__).resolve().parents[2]
DEFAULT_RUNS = REPO / "reports" / "runs"
DEFAULT_BASELINES = REPO / "reports" / "baselines"
DEFAULT_OUT = REPO / "reports" / "history"
DAY_S = 86_400.0
ENV_PUSHGATEWAY = "SKYBENCH_PUSHGATEWAY"


@dataclass(frozen=True)
class HistoryOptions:
    runs: Path | None = DEFAULT_RUNS  # None: not read
    baselines: Path | None = DEFAULT_BASELINES
    prometheus: str | None = None
    since_s: float = 90 * DAY_S  # how far back the store is read
    timeout_s: float = 10.0
    only: tuple[str, ...] = ()
    min_effect: float = DEFAULT_MIN_EFFECT
    new_within: int = 3
    out: Path = DEFAULT_OUT
    pushgateway: str | None = None  # host:port: push the change points there (job skybench-history)


def read_series(options: HistoryOptions) -> list[Series]:
    from harness.baseline import load_baseline  # noqa: PLC0415 (the sources' loaders, only when read)
    from harness.telemetry.publish import load_run  # noqa: PLC0415

    series: list[Series] = []
    if options.runs is not None:
        series += from_run_folders(options.runs, load_run)
    if options.baselines is not None:
        series += from_baseline_history(options.baselines, load_baseline)
    if options.prometheus is not None:
        series += from_prometheus(options.prometheus, options.since_s, options.timeout_s)
    return [s for s in series if not options.only or s.key.function in options.only]


def run_history(options: HistoryOptions) -> History:
    series = tuple(read_series(options))
    if not series:
        raise HistoryInputError("no series in any source: nothing to look for change points in")
    steps = tuple(step for s in series for step in find_steps(s, min_effect=options.min_effect))
    by_key = {(s.key, s.source): s for s in series}
    new = tuple(
        step for step in steps if is_new_regression(step, by_key[(step.key, step.source)], options.new_within)
    )
    return History(series, steps, new, options.min_effect, options.new_within)


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: need a finite number > 0")
    return value


def _effect(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or not 0 <= value < 10:
        raise argparse.ArgumentTypeError(f"{text}: need a fraction from 0 to 10 (0.05 = 5%)")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: need a whole number >= 1")
    return value


def options_from_args(args: argparse.Namespace) -> HistoryOptions:
    return HistoryOptions(
        runs=None if args.no_runs else args.runs,
        baselines=None if args.no_baselines else args.baselines,
        prometheus=args.prometheus,
        since_s=args.since_days * DAY_S,
        timeout_s=args.timeout,
        only=tuple(args.only or ()),
        min_effect=args.min_effect,
        new_within=args.new_within,
        out=args.out,
        pushgateway=_pushgateway(args.pushgateway or os.environ.get(ENV_PUSHGATEWAY) or None),
    )


def _pushgateway(text: str | None) -> str | None:
    from harness.telemetry.config import parse_host_port  # noqa: PLC0415

    return None if text is None else str(parse_host_port(text, f"--pushgateway / ${ENV_PUSHGATEWAY}"))


def _publish(history: History, options: HistoryOptions) -> Path:
    """history.md, .json, charts and history.prom; then the push, if a Pushgateway is set."""
    from harness.history.telemetry import push_history, write_history_textfile  # noqa: PLC0415

    markdown = write_history(history, options.out)
    write_history_textfile(history, options.out)
    if options.pushgateway is not None:
        push_history(history, options.pushgateway, options.timeout_s)
    return markdown


def handle(args: argparse.Namespace) -> int:
    from harness.history.telemetry import HistoryPushError  # noqa: PLC0415
    from harness.telemetry.config import TelemetryConfigError  # noqa: PLC0415

    try:
        options = options_from_args(args)
        history = run_history(options)
        markdown = _publish(history, options)
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


def register(subparsers: Any) -> None:
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
    parser.add_argument("--since-days", type=_positive_float, default=90.0, help="how far back the store")
    parser.add_argument("--timeout", type=_positive_float, default=10.0, metavar="SECONDS")
    parser.add_argument("--only", action="append", metavar="FUNCTION", help="only this function")
    parser.add_argument("--min-effect", type=_effect, default=DEFAULT_MIN_EFFECT, help="0.05 = 5%%")
    parser.add_argument("--new-within", type=_count, default=3, metavar="POINTS")
    parser.add_argument("--fail-on-regression", action="store_true", help="exit 1 on a new regression step")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR")
    parser.add_argument(
        "--pushgateway",
        metavar="HOST:PORT",
        help=f"push the change points, for the dashboards' annotations (${ENV_PUSHGATEWAY})",
    )
    parser.set_defaults(handler=handle)
