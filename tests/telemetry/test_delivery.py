"""Nothing lost, nothing hung: a server down, hung or refusing never stops a run; publish sends the rest."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from harness.results import RunResult
from harness.telemetry import TelemetryConfig, emit_run, publish
from harness.telemetry.config import HostPort
from harness.telemetry.delivery import load_report
from harness.telemetry.publish import PublishError
from harness.telemetry.pushgateway import PushgatewayProgress
from harness.telemetry.statsd_sink import format_payload, parse_payload, run_gauges

from .fakes import recording_gateway, refused_tcp_port, refused_udp_port, silent_server
from .synthetic import synthetic_run

SHORT_TIMEOUT_S = 0.5


def group_of(path: str) -> dict[str, str]:
    """``/metrics/job/J/k/v...`` -> ``{"job": J, "k": v}`` (the Pushgateway does not care about the order)."""
    parts = path.removeprefix("/metrics/").split("/")
    return dict(zip(parts[::2], parts[1::2], strict=True))


def write_run_json(run_dir: Path, run: RunResult) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps(run.to_json_dict()))


def test_textfile_only_by_default(tmp_path: Path) -> None:
    report = emit_run(synthetic_run(), tmp_path, TelemetryConfig())
    assert [sink.sink for sink in report.sinks] == ["textfile"]
    assert report.all_delivered
    assert (tmp_path / "metrics.prom").is_file()
    assert load_report(tmp_path) == report


@pytest.mark.timeout(60)
def test_refused_servers_are_reported_and_payloads_kept(tmp_path: Path) -> None:
    run = synthetic_run()
    stderr = io.StringIO()
    config = TelemetryConfig(
        pushgateway=refused_tcp_port(), statsd=refused_udp_port(), send_timeout_seconds=SHORT_TIMEOUT_S
    )
    report = emit_run(run, tmp_path, config, stderr=stderr)
    assert {sink.sink: sink.delivered for sink in report.sinks} == {
        "textfile": True,
        "pushgateway": False,
        "statsd": False,
    }
    assert "pushgateway" in stderr.getvalue() and "statsd" in stderr.getvalue()
    assert (tmp_path / "metrics.prom").is_file()
    assert (tmp_path / "unsent" / "pushgateway.prom").read_bytes().startswith(b"# HELP")
    kept = parse_payload((tmp_path / "unsent" / "statsd.txt").read_text())
    assert kept == run_gauges(run, "skybench")
    assert load_report(tmp_path) == report


@pytest.mark.timeout(60)
def test_hung_pushgateway_costs_one_timeout(tmp_path: Path) -> None:
    with silent_server() as address:
        report = emit_run(
            synthetic_run(),
            tmp_path,
            TelemetryConfig(pushgateway=address, send_timeout_seconds=SHORT_TIMEOUT_S),
        )
    pushgateway = report.sink("pushgateway")
    assert pushgateway is not None and not pushgateway.delivered
    assert "timed out" in pushgateway.error.lower()
    assert (tmp_path / "unsent" / "pushgateway.prom").is_file()


def test_unresolvable_statsd_host_does_not_raise(tmp_path: Path) -> None:
    config = TelemetryConfig(
        statsd=HostPort("no-such-host.invalid", 8125), send_timeout_seconds=SHORT_TIMEOUT_S
    )
    report = emit_run(synthetic_run(), tmp_path, config, stderr=io.StringIO())
    statsd = report.sink("statsd")
    assert statsd is not None and not statsd.delivered and "no-such-host.invalid" in statsd.error
    assert (tmp_path / "unsent" / "statsd.txt").is_file()


@pytest.mark.timeout(60)
def test_publish_sends_the_kept_payload_and_marks_it_delivered(tmp_path: Path) -> None:
    run = synthetic_run()
    emit_run(
        run, tmp_path, TelemetryConfig(pushgateway=refused_tcp_port(), send_timeout_seconds=SHORT_TIMEOUT_S)
    )
    kept = (tmp_path / "unsent" / "pushgateway.prom").read_bytes()
    with recording_gateway() as gateway:
        report = publish(tmp_path, TelemetryConfig(pushgateway=gateway.address), stderr=io.StringIO())
    assert report.all_delivered
    assert [(push.method, group_of(push.path), push.body) for push in gateway.pushes] == [
        ("PUT", {"job": "skybench", "suite": "quick", "machine": "synthetic-machine"}, kept)
    ]
    assert not (tmp_path / "unsent").exists()
    stored = load_report(tmp_path)
    assert stored is not None
    pushgateway = stored.sink("pushgateway")
    assert pushgateway is not None and pushgateway.delivered and pushgateway.delivered_by == "publish"


@pytest.mark.timeout(60)
def test_publish_again_sends_nothing_new(tmp_path: Path) -> None:
    run = synthetic_run()
    write_run_json(tmp_path, run)
    with recording_gateway() as gateway:
        config = TelemetryConfig(pushgateway=gateway.address)
        first = publish(tmp_path, config)
        second = publish(tmp_path, config)
    assert first.all_delivered and second.all_delivered
    assert len(gateway.pushes) == 1  # from run.json the first time, skipped the second


def test_interrupted_run_adds_to_its_group_without_success_time(tmp_path: Path) -> None:
    run = synthetic_run(interrupted=True)
    with recording_gateway() as gateway:
        report = emit_run(run, tmp_path, TelemetryConfig(pushgateway=gateway.address))
    assert report.all_delivered
    assert [push.method for push in gateway.pushes] == ["POST"]
    assert b"skybench_last_success_timestamp_seconds" not in gateway.pushes[0].body
    assert b"skybench_run_interrupted 1.0" in gateway.pushes[0].body


def test_publish_of_a_folder_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="not a run folder"):
        publish(tmp_path, TelemetryConfig())
    with pytest.raises(PublishError, match="no such run folder"):
        publish(tmp_path / "missing", TelemetryConfig())


def test_progress_stops_after_one_failure() -> None:
    stderr = io.StringIO()
    progress = PushgatewayProgress(
        refused_tcp_port(),
        "skybench",
        {"suite": "quick", "machine": "m"},
        timeout_seconds=SHORT_TIMEOUT_S,
        stderr=stderr,
    )
    for done in range(1, 6):
        progress(done, 5)
    assert progress.error is not None and progress.pushes == 0
    assert len(stderr.getvalue().splitlines()) == 1


def test_progress_pushes_to_the_run_group() -> None:
    with recording_gateway() as gateway:
        progress = PushgatewayProgress(
            gateway.address,
            "skybench",
            {"suite": "quick", "machine": "m"},
            timeout_seconds=SHORT_TIMEOUT_S,
            min_interval_seconds=0.0,
        )
        progress(1, 3)
        progress(3, 3)
    assert [push.method for push in gateway.pushes] == ["POST", "POST"]
    assert group_of(gateway.pushes[0].path) == {"job": "skybench", "suite": "quick", "machine": "m"}
    assert b"skybench_progress_done_pairs 3.0" in gateway.pushes[-1].body


def test_statsd_payload_round_trips() -> None:
    gauges = run_gauges(synthetic_run(), "skybench")
    assert parse_payload(format_payload(gauges)) == gauges
    with pytest.raises(ValueError, match="line 1"):
        parse_payload("skybench.x:1|ms\n")
