"""``history``'s work: change points across runs, baselines and a Prometheus-compatible store.

Plain functions over ``HistoryOptions``; the command line is ``harness.commands.history``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.history.changes import DEFAULT_MIN_EFFECT, find_steps, is_new_regression
from harness.history.outputs import History, write_history
from harness.history.series import (
    HistoryInputError,
    Series,
    from_baseline_history,
    from_prometheus,
    from_run_folders,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RUNS = REPO / "reports" / "runs"
DEFAULT_BASELINES = REPO / "reports" / "baselines"
DEFAULT_OUT = REPO / "reports" / "history"
DAY_S = 86_400.0


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
    from harness.run_json import load_run  # noqa: PLC0415
    from harness.sinks.baseline import load_baseline  # noqa: PLC0415 (the sources' loaders, only when read)

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


def publish_history(history: History, options: HistoryOptions) -> Path:
    """history.md, .json, charts and history.prom; then the push, if a Pushgateway is set."""
    from harness.history.telemetry import push_history, write_history_textfile  # noqa: PLC0415

    markdown = write_history(history, options.out)
    write_history_textfile(history, options.out)
    if options.pushgateway is not None:
        push_history(history, options.pushgateway, options.timeout_s)
    return markdown
