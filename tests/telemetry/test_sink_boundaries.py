"""No sink can end a run: a bounded send timeout, and every error of a sink caught at its boundary."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.commands.arguments import add_telemetry_arguments
from harness.telemetry import TelemetryConfig, TelemetryConfigError, emit, emit_run, pushgateway
from harness.telemetry.delivery import load_report
from harness.telemetry.pushgateway import PushgatewayProgress

from .fakes import recording_gateway, refused_tcp_port, refused_udp_port
from .synthetic import synthetic_run

REPO = Path(__file__).resolve().parents[2]
# The smallest real bench: one cheap function, two rounds, Python on both sides.
TINY_BENCH = [
    "bench", "--quick", "--only", "get_parallel_threads", "--rust-module", "harness.functions.reference",
    "--no-memory", "--no-floors",
    "--no-criterion", "--no-progress", "--min-rounds", "2", "--max-rounds", "2", "--min-time", "0.001",
]  # fmt: skip


def parse_timeout(text: str) -> float:
    parser = argparse.ArgumentParser()
    add_telemetry_arguments(parser)
    value: float = parser.parse_args(["--telemetry-timeout", text]).telemetry_timeout
    return value


@pytest.mark.parametrize("text", ["inf", "nan", "-inf", "1e10", "9.3e9", "601", "0", "0.0009", "-1", "soon"])
def test_telemetry_timeout_outside_1ms_to_10min_is_a_usage_error(text: str) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_timeout(text)
    assert exited.value.code == 2


@pytest.mark.parametrize(("text", "seconds"), [("0.001", 0.001), ("600", 600.0), ("5", 5.0)])
def test_telemetry_timeout_inside_the_bounds_is_taken(text: str, seconds: float) -> None:
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), 1e10, 0.0, 700.0])
def test_a_config_with_an_unbounded_timeout_cannot_be_made(seconds: float) -> None:
    with pytest.raises(TelemetryConfigError, match=r"0\.001 to 600 seconds"):
        TelemetryConfig(send_timeout_seconds=seconds)


def test_the_bench_refuses_a_huge_timeout_before_measuring(tmp_path: Path) -> None:
    # Before: 1e10 s passed the check, the first progress push raised OverflowError, nothing was written.
    completed = subprocess.run(
        [sys.executable, "-m", "harness", *TINY_BENCH, "--out", str(tmp_path / "out"),
         "--scratch", str(tmp_path / "scratch"), "--pushgateway", str(refused_tcp_port()),
         "--telemetry-timeout", "1e10"],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "--telemetry-timeout" in completed.stderr and "Traceback" not in completed.stderr
    assert not (tmp_path / "out").exists()


def test_a_progress_push_that_overflows_is_recorded_not_raised() -> None:
    stderr = io.StringIO()
    progress = PushgatewayProgress(
        refused_tcp_port(),
        "skybench",
        {"suite": "quick", "machine": "m"},
        timeout_seconds=1e10,
        stderr=stderr,
    )
    progress(1, 2)
    progress(2, 2)
    assert progress.error is not None and "OverflowError" in progress.error
    assert progress.pushes == 0 and len(stderr.getvalue().splitlines()) == 1


class SinkBugError(Exception):
    """An error no sink expects: a bug in a client library, say."""


def test_sinks_that_raise_anything_are_recorded_and_their_payloads_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def overflow(*_args: object) -> None:
        raise OverflowError("timeout doesn't fit into C timeval")

    def bug(*_args: object, **_kwargs: object) -> None:
        raise SinkBugError("unexpected")

    monkeypatch.setattr(emit, "push_run", overflow)
    monkeypatch.setattr(emit, "send_gauges", bug)
    monkeypatch.setattr(emit, "write_textfile", bug)
    config = TelemetryConfig(pushgateway=refused_tcp_port(), statsd=refused_udp_port())
    report = emit_run(synthetic_run(), tmp_path, config, stderr=io.StringIO())
    errors = {sink.sink: sink.error for sink in report.sinks if not sink.delivered}
    assert errors == {
        "textfile": "SinkBugError: unexpected",
        "pushgateway": "OverflowError: timeout doesn't fit into C timeval",
        "statsd": "SinkBugError: unexpected",
    }
    assert (tmp_path / "unsent" / "pushgateway.prom").is_file() and (
        tmp_path / "unsent" / "statsd.txt"
    ).is_file()
    assert load_report(tmp_path) == report


@pytest.mark.timeout(120)
def test_a_progress_sink_raising_mid_run_does_not_end_the_bench(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def overflow(*_args: object, **_kwargs: object) -> None:
        raise OverflowError("timeout doesn't fit into C timeval")

    monkeypatch.setattr(pushgateway, "pushadd_to_gateway", overflow)  # progress pushes only: a run PUTs
    with recording_gateway() as gateway:
        arguments = [*TINY_BENCH, "--out", str(tmp_path / "out"), "--scratch", str(tmp_path / "scratch")]
        args = build_parser(load={"bench"}).parse_args([*arguments, "--pushgateway", str(gateway.address)])
        assert args.handler(args) == 0
    run = json.loads((tmp_path / "out" / "latest" / "run.json").read_text())
    assert len(run["pairs"]) == 2 and not run["interrupted"]
    assert [push.method for push in gateway.pushes] == ["PUT"]  # the final push still went out
    assert "progress push" in capsys.readouterr().err
