"""Time series of one measured figure across runs: per machine, function, side and workload.

Three sources give the same values: run folders (each run's ``run.json``), the git history of the committed
baselines (each commit of ``reports/baselines/<fingerprint>.csv`` is one point), and a Prometheus-compatible
store holding the ``skybench_call_median_seconds`` series the bench pushes. Every point is a side's median
time per call in one run; nothing here judges them (``changes`` does).
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.processes import run_bounded
from harness.results import RunKind, RunResult

GIT_TIMEOUT_S = 30.0
PROMETHEUS_METRIC = "skybench_call_median_seconds"
SOURCES = ("runs", "baselines", "prometheus")


class HistoryInputError(ValueError):
    """A source that cannot be read: a corrupt run folder or baseline, an unreachable store (exit 2)."""


@dataclass(frozen=True, order=True)
class SeriesKey:
    """What one series follows: a side's time on one workload, on one kind of machine."""

    machine: str
    function: str
    impl: str
    workload: str

    @property
    def name(self) -> str:
        return f"{self.function}/{self.impl}/{self.workload}"


@dataclass(frozen=True)
class Point:
    """One run's median time per call; ``label`` names the run (run id, short commit, or time)."""

    at_unix_s: float
    median_ns: float
    label: str
    commit: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.median_ns) and self.median_ns > 0):
            raise HistoryInputError(f"{self.label}: a median of {self.median_ns} ns is not a time")


@dataclass(frozen=True)
class Series:
    key: SeriesKey
    source: str  # one of SOURCES
    points: tuple[Point, ...]  # oldest first


def _group(source: str, keyed_points: Iterable[tuple[SeriesKey, Point]]) -> list[Series]:
    grouped: dict[SeriesKey, list[Point]] = {}
    for key, point in keyed_points:
        grouped.setdefault(key, []).append(point)
    return [
        # A stable sort: points of the same second keep the order they came in (git's, the folders').
        Series(key, source, tuple(sorted(points, key=lambda p: p.at_unix_s)))
        for key, points in sorted(grouped.items())
    ]


def _machine(environment: Mapping[str, str]) -> str:
    return environment.get("machine_fingerprint") or environment.get("hostname") or "unknown"


def _run_points(run: RunResult) -> Iterable[tuple[SeriesKey, Point]]:
    machine = _machine(run.environment)
    commit = run.environment.get("git_commit", "")
    for pair in run.pairs:
        for sample in (pair.rust, pair.python):
            key = SeriesKey(machine, pair.function, str(sample.impl), pair.workload)
            yield key, Point(run.started_at_unix_s, sample.median_ns, run.run_id, commit)


def from_run_folders(runs_dir: Path, load_run: Any) -> list[Series]:
    """Every bench run folder directly under ``runs_dir`` (gate runs and interrupted runs left out).

    ``load_run`` is ``harness.run_json.load_run`` (passed in so this module stays below the sinks).
    """
    if not runs_dir.is_dir():
        raise HistoryInputError(f"{runs_dir}: no such folder of runs")
    runs: list[RunResult] = []
    for folder in sorted(path for path in runs_dir.iterdir() if path.is_dir() and not path.is_symlink()):
        try:
            run = load_run(folder)
        except ValueError as error:
            raise HistoryInputError(str(error)) from error
        if run is not None and run.kind is RunKind.BENCH and not run.interrupted:
            runs.append(run)
    return _group("runs", (item for run in runs for item in _run_points(run)))


def _git(repo: Path, *args: str) -> str:
    try:
        completed = run_bounded(["git", "-C", str(repo), *args], timeout_s=GIT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HistoryInputError(f"git {' '.join(args)}: {error}") from error
    if completed.returncode != 0:
        raise HistoryInputError(f"git {' '.join(args)}: {completed.stderr.strip()}")
    return completed.stdout


def _baseline_at(repo: Path, commit: str, csv_path: str, load_baseline: Any) -> Any:
    """The baseline as committed at ``commit``, read with the project's own loader (sidecar checks too)."""
    with tempfile.TemporaryDirectory(prefix="skybench-history-") as scratch:
        target = Path(scratch) / Path(csv_path).name
        target.write_text(_git(repo, "show", f"{commit}:{csv_path}"), encoding="utf-8")
        sidecar = str(Path(csv_path).with_suffix(".json"))
        listed = _git(repo, "ls-tree", "--name-only", commit, "--", sidecar).strip()
        if listed:
            target.with_suffix(".json").write_text(
                _git(repo, "show", f"{commit}:{sidecar}"), encoding="utf-8"
            )
        try:
            return load_baseline(target)
        except ValueError as error:
            raise HistoryInputError(f"{csv_path} at {commit[:12]}: {error}") from error


def from_baseline_history(baselines_dir: Path, load_baseline: Any) -> list[Series]:
    """One point per commit of each committed baseline CSV under ``baselines_dir`` (its git history)."""
    if not baselines_dir.is_dir():
        raise HistoryInputError(f"{baselines_dir}: no such folder of baselines")
    repo = Path(_git(baselines_dir, "rev-parse", "--show-toplevel").strip())
    points: list[tuple[SeriesKey, Point]] = []
    for csv_file in sorted(baselines_dir.glob("*.csv")):
        relative = csv_file.resolve().relative_to(repo.resolve()).as_posix()
        for line in reversed(_git(repo, "log", "--format=%H %ct", "--", relative).splitlines()):
            commit, committed_at = line.split()
            baseline = _baseline_at(repo, commit, relative, load_baseline)
            machine = baseline.fingerprint or csv_file.stem
            for row in baseline.rows.values():
                if row.function.startswith("_"):
                    continue  # the call floor is not a function of the port
                key = SeriesKey(machine, row.function, str(row.impl), row.workload)
                label = baseline.run_id or commit[:12]
                points.append((key, Point(float(committed_at), row.median_ns, label, commit)))
    return _group("baselines", points)


def _prometheus_samples(url: str, since_s: float, timeout_s: float) -> list[Mapping[str, Any]]:
    # A range-vector selector in an instant query returns the raw samples, not a resampled grid.
    query = urllib.parse.urlencode({"query": f"{PROMETHEUS_METRIC}[{int(since_s)}s]"})
    endpoint = f"{url.rstrip('/')}/api/v1/query?{query}"
    if not endpoint.startswith(("http://", "https://")):
        raise HistoryInputError(f"--prometheus {url}: give an http:// or https:// URL")
    try:
        with urllib.request.urlopen(endpoint, timeout=timeout_s) as response:
            body = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError) as error:
        raise HistoryInputError(f"{url}: cannot read {PROMETHEUS_METRIC}: {error}") from error
    if not isinstance(body, dict) or body.get("status") != "success":
        raise HistoryInputError(f"{url}: the query failed: {str(body)[:200]}")
    result = body.get("data", {}).get("result", [])
    if not isinstance(result, list):
        raise HistoryInputError(f"{url}: unexpected answer: {str(body)[:200]}")
    return result


def _distinct_runs(values: Sequence[Sequence[Any]]) -> Iterable[tuple[float, float]]:
    """(time, seconds) of each run: a scraped Pushgateway repeats one run's value on every scrape."""
    previous: float | None = None
    for timestamp, text in values:
        value = float(text)
        if value != previous:
            yield float(timestamp), value
        previous = value


def from_prometheus(url: str, since_s: float, timeout_s: float) -> list[Series]:
    """The bench's per-side medians from a Prometheus-compatible store (Prometheus, VictoriaMetrics)."""
    points: list[tuple[SeriesKey, Point]] = []
    for series in _prometheus_samples(url, since_s, timeout_s):
        try:
            labels = series["metric"]
            key = SeriesKey(
                labels.get("machine", "unknown"), labels["function"], labels["impl"], labels["workload"]
            )
            for at_s, seconds in _distinct_runs(series["values"]):
                label = f"{at_s:.0f}"
                points.append((key, Point(at_s, seconds * 1e9, label)))
        except (KeyError, TypeError, ValueError) as error:
            raise HistoryInputError(f"{url}: a series without function/impl/workload: {error}") from error
    return _group("prometheus", points)
