"""``history``: change points across run folders and the baselines' git history, and its exit codes."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.history.changes import find_steps
from harness.history.series import Point, Series, SeriesKey
from harness.results import Impl
from harness.telemetry.metrics import CHANGE_POINT_TIMESTAMP

from .runs import InjectedStep, history_runs, write_run_folders

STEP = InjectedStep("base36_encode", "hex32", Impl.RUST, from_run=6, factor=1.20)


def _history(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "history"
    code = main(["history", "--runs", str(tmp_path / "runs"), "--no-baselines", "--out", str(out), *extra])
    history_json = out / "history.json"
    data = json.loads(history_json.read_text(encoding="utf-8")) if history_json.exists() else {}
    return code, data


def test_a_step_injected_part_way_through_ten_runs_is_found_and_no_other(tmp_path: Path) -> None:
    runs = history_runs(10, STEP)
    write_run_folders(runs, tmp_path / "runs")
    code, data = _history(tmp_path)
    assert code == 0
    assert len(data["series"]) == 2 * len(runs[0].pairs)
    [step] = data["steps"]
    assert (step["key"]["function"], step["key"]["impl"], step["key"]["workload"]) == (
        STEP.function,
        str(STEP.impl),
        STEP.workload,
    )
    assert step["index"] == STEP.from_run
    assert step["at"]["label"] == runs[STEP.from_run].run_id
    assert step["at"]["commit"] == runs[STEP.from_run].environment["git_commit"]
    assert step["direction"] == "regression"
    assert 1.10 < step["ci_low"] <= step["change_ratio"] <= step["ci_high"] < 1.35
    markdown = (tmp_path / "history" / "history.md").read_text(encoding="utf-8")
    assert f"| {STEP.function} | rust | {STEP.workload} |" in markdown
    charts = list((tmp_path / "history" / "charts").glob("*.png"))
    assert len(charts) == len(data["series"])


def test_no_step_in_noise_alone(tmp_path: Path) -> None:
    write_run_folders(history_runs(12, None, seed=3), tmp_path / "runs")
    code, data = _history(tmp_path, "--fail-on-regression")
    assert code == 0
    assert data["steps"] == []


def test_a_new_regression_step_fails_a_nightly_job_and_an_old_one_does_not(tmp_path: Path) -> None:
    write_run_folders(history_runs(10, InjectedStep(*STEP.__dict__.values())), tmp_path / "runs")
    assert _history(tmp_path, "--fail-on-regression")[0] == 0  # the step is 4 runs back: not new
    assert _history(tmp_path, "--fail-on-regression", "--new-within", "4")[0] == 1
    (tmp_path / "late").mkdir()
    late = InjectedStep(STEP.function, STEP.workload, STEP.impl, from_run=8, factor=1.2)
    write_run_folders(history_runs(10, late), tmp_path / "late" / "runs")
    assert _history(tmp_path / "late", "--fail-on-regression")[0] == 1


def test_an_improvement_is_a_step_but_never_fails(tmp_path: Path) -> None:
    faster = InjectedStep(STEP.function, STEP.workload, Impl.PYTHON, from_run=7, factor=0.8)
    write_run_folders(history_runs(10, faster), tmp_path / "runs")
    code, data = _history(tmp_path, "--fail-on-regression")
    assert code == 0
    assert [(s["key"]["impl"], s["direction"]) for s in data["steps"]] == [("python", "improvement")]


def test_bad_sources_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _history(tmp_path)[0] == 2  # no runs folder
    assert "no such folder of runs" in capsys.readouterr().err
    (tmp_path / "runs" / "torn").mkdir(parents=True)
    (tmp_path / "runs" / "torn" / "run.json").write_text('{"run_id": ', encoding="utf-8")
    assert _history(tmp_path)[0] == 2
    err = capsys.readouterr().err
    assert "run.json" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    (tmp_path / "runs" / "torn" / "run.json").unlink()
    assert _history(tmp_path)[0] == 2  # a folder with no runs in it gives no series: not a quiet pass
    assert "no series" in capsys.readouterr().err
    assert _history(tmp_path, "--prometheus", "http://127.0.0.1:9", "--timeout", "2")[0] == 2


def _series(values: list[float]) -> Series:
    key = SeriesKey("m", "f", "rust", "w")
    return Series(key, "runs", tuple(Point(float(i), v, str(i)) for i, v in enumerate(values)))


def test_a_step_smaller_than_the_minimum_effect_is_not_reported() -> None:
    values = [1000.0, 1001.0, 999.0, 1000.5, 999.5, 1030.0, 1031.0, 1029.0, 1030.5, 1029.5]  # +3%
    assert find_steps(_series(values), min_effect=0.05) == ()
    [step] = find_steps(_series(values), min_effect=0.01)
    assert step.index == 5


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_the_baselines_git_history_is_a_series_per_row(tmp_path: Path) -> None:
    from harness.sinks.baseline import FORMAT_2_COLUMNS  # noqa: PLC0415  (rows as format 2 wrote them)

    repo = tmp_path / "repo"
    baselines = repo / "reports" / "baselines"
    baselines.mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.invalid")
    _git(repo, "config", "user.name", "t")
    for index, rust_ns in enumerate([100.0, 101.0, 99.0, 100.5, 130.0, 131.0, 129.0, 130.5]):
        rows = [",".join(FORMAT_2_COLUMNS)]
        for impl, median in (("python", 900.0 + index % 2), ("rust", rust_ns)):
            rows.append(f"f,w,{impl},{median},{median * 0.99},{median * 1.01},30,,,,,,")
        (baselines / "box.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"baseline {index}", "--date", f"2026-11-0{index + 1}T00:00:00")
    out = tmp_path / "out"
    code = main(["history", "--no-runs", "--baselines", str(baselines), "--out", str(out)])
    assert code == 0
    data = json.loads((out / "history.json").read_text(encoding="utf-8"))
    assert {(s["impl"], len(s["points"])) for s in data["series"]} == {("python", 8), ("rust", 8)}
    [step] = data["steps"]
    assert (step["key"]["impl"], step["index"], step["direction"]) == ("rust", 4, "regression")


def test_the_change_points_are_a_prometheus_gauge_of_their_time(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    runs = history_runs(10, STEP)
    write_run_folders(runs, tmp_path / "runs")
    assert _history(tmp_path)[0] == 0
    text = (tmp_path / "history" / "history.prom").read_text(encoding="utf-8")
    [family] = [f for f in text_string_to_metric_families(text) if f.name == CHANGE_POINT_TIMESTAMP]
    [sample] = family.samples
    assert sample.labels == {
        "machine": runs[0].environment["machine_fingerprint"],
        "function": STEP.function,
        "impl": "rust",
        "workload": STEP.workload,
        "direction": "regression",
        "source": "runs",
    }
    assert sample.value == runs[STEP.from_run].started_at_unix_s


def test_a_pushgateway_that_is_down_exits_2_and_keeps_the_textfile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run_folders(history_runs(10, STEP), tmp_path / "runs")
    port = _closed_port()
    code, _ = _history(tmp_path, "--pushgateway", f"127.0.0.1:{port}", "--timeout", "2")
    assert code == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "Traceback" not in err
    assert CHANGE_POINT_TIMESTAMP in (tmp_path / "history" / "history.prom").read_text(encoding="utf-8")
    assert _history(tmp_path, "--pushgateway", "no-port-here")[0] == 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens once the probe is closed
