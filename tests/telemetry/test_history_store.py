"""``history --prometheus``: the same change point read back from a real Prometheus-compatible store.

Ten runs' textfiles are imported into VictoriaMetrics (Debian's package, started per test on 127.0.0.1) with
the time of each run, as a fleet's central store would hold them; ``history`` range-reads the raw samples.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from harness.cli import main
from harness.history.telemetry import HISTORY_JOB
from harness.results import Impl
from harness.telemetry import metrics as m
from harness.telemetry.metrics import CHANGE_POINT_TIMESTAMP
from harness.telemetry.pushgateway import push_run
from harness.telemetry.textfile import write_textfile
from tests.history.runs import InjectedStep, history_runs

from .conftest import Stack
from .test_victoria_metrics import QUERY_TIMEOUT_S, get, victoria_metrics

__all__ = ["victoria_metrics"]  # the fixture, imported for this module's tests
pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]
SAMPLE_LINE = re.compile(r"^(?P<sample>[a-z_]+(\{[^}]*\})? \S+)$")


def _with_timestamp(textfile: str, at_ms: int) -> bytes:
    """The exposition text with an explicit timestamp on every sample (comments kept as they are)."""
    lines = []
    for line in textfile.splitlines():
        match = SAMPLE_LINE.match(line)
        lines.append(f"{match['sample']} {at_ms}" if match and not line.startswith("#") else line)
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_history_finds_the_step_in_victoria_metrics(victoria_metrics: str, tmp_path: Path) -> None:
    step = InjectedStep("base36_encode", "hex32", Impl.PYTHON, from_run=5, factor=1.25)
    runs = history_runs(10, step, seed=5)
    now_ms = int(time.time() * 1000)
    labels = urllib.parse.urlencode([("extra_label", "machine=history-box")])
    for index, run in enumerate(runs):
        textfile = write_textfile(run, tmp_path / run.run_id, succeeded=True).read_text(encoding="utf-8")
        at_ms = now_ms - (len(runs) - index) * 60_000
        request = urllib.request.Request(
            f"{victoria_metrics}/api/v1/import/prometheus?{labels}",
            data=_with_timestamp(textfile, at_ms),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204
    query = urllib.parse.urlencode({"query": f"count_over_time({m.CALL_MEDIAN}[1d])"})
    deadline = time.monotonic() + QUERY_TIMEOUT_S
    while True:
        with urllib.request.urlopen(f"{victoria_metrics}/internal/force_flush", timeout=10):
            pass
        result = get(f"{victoria_metrics}/api/v1/query?{query}")["data"]["result"]
        if result and all(float(series["value"][1]) == len(runs) for series in result):
            break
        assert time.monotonic() < deadline, result
        time.sleep(0.5)
    out = tmp_path / "history"
    arguments = [
        "history",
        "--no-runs",
        "--no-baselines",
        "--prometheus",
        victoria_metrics,
        "--out",
        str(out),
    ]
    assert main([*arguments, "--since-days", "1"]) == 0
    data = json.loads((out / "history.json").read_text(encoding="utf-8"))
    assert len(data["series"]) == 2 * len(runs[0].pairs)
    assert all(len(series["points"]) == len(runs) for series in data["series"])
    [found] = data["steps"]
    assert (found["key"]["function"], found["key"]["impl"], found["key"]["workload"]) == (
        step.function,
        "python",
        step.workload,
    )
    assert (found["index"], found["key"]["machine"], found["source"]) == (5, "history-box", "prometheus")


def test_history_reads_the_same_series_from_the_live_prometheus(
    telemetry_stack: Stack, tmp_path: Path
) -> None:
    """Ten runs pushed one after another to the stack's Pushgateway, each scraped before the next."""
    step = InjectedStep("base36_encode", "hex32", Impl.RUST, from_run=6, factor=1.25)
    runs = [
        replace(run, environment={**run.environment, "machine_fingerprint": "history-live"})
        for run in history_runs(10, step, seed=8)
    ]
    for run in runs:
        push_run(run, telemetry_stack.pushgateway, job="skybench", timeout_seconds=10)
        telemetry_stack.wait_for(f'{m.RUN_INFO}_info{{machine="history-live", run_id="{run.run_id}"}}')
    out = tmp_path / "history"
    url = f"http://127.0.0.1:{telemetry_stack.prometheus_port}"
    arguments = ["history", "--no-runs", "--no-baselines", "--prometheus", url, "--out", str(out)]
    assert main([*arguments, "--since-days", "1", "--pushgateway", str(telemetry_stack.pushgateway)]) == 0
    data = json.loads((out / "history.json").read_text(encoding="utf-8"))
    # The step, pushed back as the dashboards' annotation series (job skybench-history).
    [annotation] = telemetry_stack.wait_for(f'{CHANGE_POINT_TIMESTAMP}{{machine="history-live"}}')
    assert annotation["metric"]["job"] == HISTORY_JOB
    assert annotation["metric"]["function"] == step.function
    ours = [series for series in data["series"] if series["machine"] == "history-live"]
    assert len(ours) == 2 * len(runs[0].pairs)
    assert all(len(series["points"]) == len(runs) for series in ours)
    [found] = [s for s in data["steps"] if s["key"]["machine"] == "history-live"]
    assert (found["key"]["function"], found["key"]["impl"], found["key"]["workload"]) == (
        step.function,
        "rust",
        step.workload,
    )
    assert found["index"] == 6
