"""The gate's verdicts reach the bench's sinks, in their own Pushgateway job, and nothing is lost."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from harness.gate.telemetry import gate_run, send_gate_run
from harness.results import RunKind, RunResult
from harness.run_json import load_run
from harness.telemetry import TelemetryConfig, emit_run, publish
from harness.telemetry.delivery import load_report
from harness.telemetry.statsd_sink import run_gauges

from .fakes import recording_gateway, refused_tcp_port
from .synthetic import FUNCTIONS, WORKLOAD, synthetic_gate, synthetic_gate_report, synthetic_run
from .test_delivery import SHORT_TIMEOUT_S, group_of

ENVIRONMENT = {"machine_fingerprint": "gate-box", "git_commit": "feedbee", "python_version": "3.11.7"}


def a_gate_run() -> RunResult:
    return gate_run(
        synthetic_gate_report(duration_seconds=12.5),
        suite="quick",
        environment=ENVIRONMENT,
        started_at_unix_s=1_800_000_000.0,
    )


def test_gate_run_carries_the_report() -> None:
    run = a_gate_run()
    assert run.kind == RunKind.GATE and run.pairs == ()
    assert run.gate == synthetic_gate() and run.duration_seconds == 12.5
    assert run.mode == "quick" and run.run_id == "gate-20270115T080000Z-quick"
    assert RunResult.from_json_dict(json.loads(json.dumps(run.to_json_dict()))) == run


def test_bench_and_gate_push_to_separate_groups(tmp_path: Path) -> None:
    bench = synthetic_run(machine="gate-box")
    with recording_gateway() as gateway:
        config = TelemetryConfig(pushgateway=gateway.address)
        assert emit_run(bench, tmp_path / "bench", config).all_delivered
        assert send_gate_run(a_gate_run(), tmp_path / "gate", config).all_delivered
    # Each PUT replaces only its own group: the gate's push leaves the bench's series alone, and back.
    assert [(push.method, group_of(push.path)) for push in gateway.pushes] == [
        ("PUT", {"job": "skybench", "suite": "quick", "machine": "gate-box"}),
        ("PUT", {"job": "skybench-gate", "suite": "quick", "machine": "gate-box"}),
    ]
    gate_body = gateway.pushes[1].body.decode()
    regression = (
        f'skybench_gate_outcome{{function="{FUNCTIONS[1]}",impl="rust",metric="time",'
        f'outcome="regression",workload="{WORKLOAD}"}} 1.0'
    )
    assert regression in gate_body
    assert "skybench_last_success_timestamp_seconds" not in gate_body


@pytest.mark.timeout(60)
def test_gateway_down_then_publish_sends_to_the_gate_job(tmp_path: Path) -> None:
    config = TelemetryConfig(pushgateway=refused_tcp_port(), send_timeout_seconds=SHORT_TIMEOUT_S)
    report = send_gate_run(a_gate_run(), tmp_path, config, stderr=io.StringIO())
    assert not report.all_delivered
    kept = (tmp_path / "unsent" / "pushgateway.prom").read_bytes()
    assert load_run(tmp_path) == a_gate_run()
    with recording_gateway() as gateway:
        assert publish(
            tmp_path, TelemetryConfig(pushgateway=gateway.address), stderr=io.StringIO()
        ).all_delivered
    assert [(push.method, group_of(push.path)["job"], push.body) for push in gateway.pushes] == [
        ("PUT", "skybench-gate", kept)
    ]


@pytest.mark.timeout(60)
def test_publish_rebuilds_a_gate_run_into_the_gate_job(tmp_path: Path) -> None:
    """A folder whose Pushgateway was never configured: publish builds the payload from run.json."""
    send_gate_run(a_gate_run(), tmp_path, TelemetryConfig())
    with recording_gateway() as gateway:
        publish(tmp_path, TelemetryConfig(pushgateway=gateway.address), stderr=io.StringIO())
    assert [group_of(push.path)["job"] for push in gateway.pushes] == ["skybench-gate"]
    stored = load_report(tmp_path)
    pushgateway = stored.sink("pushgateway") if stored is not None else None
    assert pushgateway is not None and pushgateway.details["job"] == "skybench-gate"


@pytest.mark.timeout(60)
def test_a_later_delivered_gate_run_leaves_no_stale_payload(tmp_path: Path) -> None:
    down = TelemetryConfig(pushgateway=refused_tcp_port(), send_timeout_seconds=SHORT_TIMEOUT_S)
    send_gate_run(a_gate_run(), tmp_path, down, stderr=io.StringIO())
    assert (tmp_path / "unsent" / "pushgateway.prom").is_file()
    with recording_gateway() as gateway:
        assert send_gate_run(
            a_gate_run(), tmp_path, TelemetryConfig(pushgateway=gateway.address)
        ).all_delivered
    assert not (tmp_path / "unsent").exists()


def test_statsd_gauges_of_a_gate_run() -> None:
    gauges = {gauge.name: gauge.value for gauge in run_gauges(a_gate_run(), "skybench")}
    base = f"skybench.gate.{FUNCTIONS[1]}.{WORKLOAD}.rust.time"
    assert gauges[f"{base}.regression"] == 1.0
    assert gauges[f"{base}.change_ratio"] == 1.2
    assert gauges[f"skybench.gate.{FUNCTIONS[0]}.{WORKLOAD}.rust.time.regression"] == 0.0
    # StatsD has no labels: the gate's own run gauges must not overwrite the bench's.
    assert gauges["skybench.gate_run.duration_seconds"] == 12.5
    assert "skybench.run.duration_seconds" not in gauges
