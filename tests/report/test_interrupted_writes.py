"""Ctrl-C once the measuring is over never tears what is written: the step in progress finishes, the next
one does not start, and the command exits 130 saying so."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import interrupts
from harness.atomic import write_bytes_atomic
from harness.commands import baseline as baseline_cli
from harness.commands import bench as bench_cli
from harness.measure.bench import BenchOptions
from harness.results import RunResult
from harness.sinks.baseline import baseline_paths, load_baseline
from harness.sinks.charts import write_charts
from harness.sinks.report import write_report

from .synthetic import ENVIRONMENT, synthetic_run

RUN_FILES = {"run.json", "results.csv", "report.md", "speedups.png", "metrics.prom", "telemetry.json"}


def _press() -> None:
    signal.raise_signal(signal.SIGINT)


def _pressing_first(real: Callable[..., Any]) -> Callable[..., Any]:
    def pressed_then_real(*args: Any, **kwargs: Any) -> Any:
        _press()
        return real(*args, **kwargs)

    return pressed_then_real


def _command(tmp_path: Path, name: str) -> tuple[Callable[[argparse.Namespace], int], argparse.Namespace]:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    bench_cli.register(subparsers)
    baseline_cli.register(subparsers)
    argv = [name, "--out", str(tmp_path / "reports"), "--no-progress"]
    if name == "baseline":
        argv += ["--baselines-dir", str(tmp_path / "baselines")]
    arguments = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = arguments.handler
    return handler, arguments


def _latest_files(tmp_path: Path) -> set[str]:
    return {path.name for path in (tmp_path / "reports" / "latest").iterdir()}


@pytest.mark.parametrize("name", ["bench", "baseline"])
def test_ctrl_c_while_the_run_folder_is_written_keeps_it_whole(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_cli, "run_bench", lambda _options: synthetic_run())
    # The press comes after run.json and the report, before the charts and the telemetry files.
    monkeypatch.setattr("harness.sinks.run_folder.write_charts", _pressing_first(write_charts))
    handler, arguments = _command(tmp_path, name)
    assert handler(arguments) == 130
    assert _latest_files(tmp_path) >= RUN_FILES
    assert not list((tmp_path / "reports" / "runs").glob(".*")), "no staging folder may be left"
    assert "written in full" in capsys.readouterr().err
    # The baseline is the next step: it does not start after Ctrl-C.
    assert not (tmp_path / "baselines").exists()


def test_ctrl_c_while_the_baseline_is_written_keeps_the_pair_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_cli, "run_bench", lambda _options: synthetic_run())
    monkeypatch.setattr("harness.sinks.baseline.write_bytes_atomic", _pressing_first(write_bytes_atomic))
    handler, arguments = _command(tmp_path, "baseline")
    assert handler(arguments) == 130
    csv_path, _ = baseline_paths(ENVIRONMENT["machine_fingerprint"], tmp_path / "baselines")
    loaded = load_baseline(csv_path)  # the sidecar matches the CSV: neither was cut
    assert loaded.run_id == synthetic_run().run_id and loaded.notes == ()


def test_a_second_ctrl_c_while_an_interrupted_run_is_written_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted_bench(_options: BenchOptions) -> RunResult:
        try:  # as run_bench does: the first press stops the measuring
            with interrupts.interruptible():
                _press()
        except KeyboardInterrupt:
            return synthetic_run(interrupted=True)
        raise AssertionError("the first press did not stop the measuring")

    monkeypatch.setattr(bench_cli, "run_bench", interrupted_bench)
    monkeypatch.setattr("harness.sinks.run_folder.write_report", _pressing_first(write_report))
    handler, arguments = _command(tmp_path, "bench")
    assert handler(arguments) == 130
    assert _latest_files(tmp_path) >= RUN_FILES
