"""Against the real stack (Prometheus, Pushgateway, collectd) started by scripts/telemetry.sh.

Values are checked through the whole path: RunResult -> Pushgateway/StatsD -> Prometheus -> PromQL.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from harness.commands import gate as gate_cli
from harness.gate.outcome import ExitCode
from harness.results import Impl, RunKind, RunResult
from harness.run_json import load_run
from harness.telemetry import TelemetryConfig, emit_run, publish
from harness.telemetry import metrics as m
from harness.telemetry.delivery import load_report
from harness.telemetry.pushgateway import PushgatewayProgress

from .conftest import REPO, Stack
from .synthetic import FUNCTIONS, WORKLOAD, synthetic_gate_report, synthetic_gate_run, synthetic_run
from .test_rules_and_dashboards import TEMPLATE_VALUES, annotation_queries, panel_queries

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]

# Pushgateway -> Prometheus keeps doubles exactly; collectd's write_prometheus prints 15 significant digits.
PUSH_REL = 1e-12
STATSD_REL = 1e-13
BENCH_COMMAND = (
    sys.executable,
    "-m",
    "harness",
    "bench",
    "--quick",
    "--only",
    "base36_encode",
    "--no-criterion",
    "--no-floors",
)


def value_of(result: list[dict[str, Any]]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def push_and_wait(stack: Stack, run: RunResult, run_dir: Path, prefix: str) -> None:
    config = TelemetryConfig(pushgateway=stack.pushgateway, statsd=stack.statsd, statsd_prefix=prefix)
    report = emit_run(run, run_dir, config)
    assert report.all_delivered, report
    machine = m.machine_id(run.environment)
    stack.wait_for(
        f'{m.RUN_INFO}_info{{machine="{machine}", run_id="{run.run_id}"}}',
    )
    scope = "run" if run.kind == RunKind.BENCH else "gate_run"
    stack.wait_for(f'collectd_statsd_gauge{{statsd="{prefix}.{scope}.duration_seconds"}}')


@pytest.fixture
def synthetic_pushed(telemetry_stack: Stack, tmp_path: Path) -> tuple[RunResult, RunResult]:
    """A bench run, then a gate run of the same suite and machine: what a CI machine sends."""
    bench = synthetic_run(run_id=f"live-{uuid.uuid4().hex[:8]}", machine="live-synthetic")
    push_and_wait(telemetry_stack, bench, tmp_path / "bench", "skybench_synthetic")
    gate = synthetic_gate_run(run_id=f"live-gate-{uuid.uuid4().hex[:8]}", machine="live-synthetic")
    push_and_wait(telemetry_stack, gate, tmp_path / "gate", "skybench_synthetic")
    return bench, gate


def test_up_again_starts_no_duplicates(telemetry_stack: Stack) -> None:
    before = {service: telemetry_stack.pid(service) for service in ("pushgateway", "prometheus", "collectd")}
    again = telemetry_stack.script("up")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already running") == 3
    assert {service: telemetry_stack.pid(service) for service in before} == before
    status = telemetry_stack.script("status")
    assert status.returncode == 0 and "targets: up" in status.stdout


def test_grafana_provisioning_is_filled_in(telemetry_stack: Stack) -> None:
    provisioning = telemetry_stack.state_dir / "grafana-provisioning"
    datasource = (provisioning / "datasources" / "skybench.yml").read_text()
    provider = (provisioning / "dashboards" / "skybench.yml").read_text()
    assert f"url: http://127.0.0.1:{telemetry_stack.prometheus_port}\n" in datasource
    assert f"path: {REPO / 'dashboards' / 'grafana'}\n" in provider
    assert "$" not in datasource + provider


def test_every_series_of_every_function_has_the_run_values(
    telemetry_stack: Stack, synthetic_pushed: tuple[RunResult, RunResult]
) -> None:
    (run, gate_run), stack = synthetic_pushed, telemetry_stack
    where = 'machine="live-synthetic", suite="quick"'
    pairs = {pair.function: pair for pair in run.pairs}
    assert sorted(pairs) == sorted(FUNCTIONS)
    for function, pair in pairs.items():
        for sample in (pair.rust, pair.python):
            side = f'{where}, function="{function}", impl="{sample.impl}", workload="{pair.workload}"'
            for metric, expected_ns in (
                (m.CALL_MEDIAN, sample.median_ns),
                (m.CALL_MEAN, sample.mean_ns),
                (m.CALL_STDEV, sample.stdev_ns),
                (m.CALL_MIN, sample.min_ns),
                (m.CALL_MAX, sample.max_ns),
            ):
                got = value_of(stack.query(f"{metric}{{{side}}}"))
                assert got == pytest.approx(expected_ns / 1e9, rel=PUSH_REL), (metric, function, sample.impl)
            statsd_name = f"skybench_synthetic.{function}.{pair.workload}.{sample.impl}.median_ns"
            got_ns = value_of(stack.query(f'collectd_statsd_gauge{{statsd="{statsd_name}"}}'))
            assert got_ns == pytest.approx(sample.median_ns, rel=STATSD_REL), statsd_name
            assert got_ns < 1e6  # sub-millisecond values survive collectd (timers would have dropped them)
            fallback = f'{m.FALLBACK_CALLS}_total{{{where}, function="{function}", impl="{sample.impl}"}}'
            assert value_of(stack.query(fallback)) == run.fallback_calls[f"{function}/{sample.impl}"]
        for memory in (pair.rust_memory, pair.python_memory):
            assert memory is not None
            side = f'{where}, function="{function}", impl="{memory.impl}"'
            assert value_of(stack.query(f"{m.ALLOCATED_BYTES}{{{side}}}")) == memory.alloc_bytes_per_call
            assert value_of(stack.query(f"{m.PEAK_RSS}{{{side}}}")) == memory.peak_rss_bytes
        one = f'{where}, function="{function}"'
        assert value_of(stack.query(f"{m.SPEEDUP}{{{one}}}")) == pytest.approx(
            pair.speedup.value, rel=PUSH_REL
        )
        assert value_of(stack.query(f"{m.SPEEDUP_CI_LOWER}{{{one}}}")) == pytest.approx(pair.speedup.ci_low)
        assert value_of(stack.query(f"{m.SPEEDUP_CI_UPPER}{{{one}}}")) == pytest.approx(pair.speedup.ci_high)
        claimed = stack.query(f"{m.SPEEDUP_CLAIMED}{{{one}}}")
        assert (value_of(claimed) if claimed else None) == pair.claimed_speedup
        verdict = stack.query(f"{m.CLAIM_VERDICT}{{{one}}} == 1")
        assert [series["metric"]["verdict"] for series in verdict] == [str(pair.verdict)]
        # The gate run has its own job, so pushing it left the bench's series above in place.
        gate = stack.query(f"{m.GATE_OUTCOME}{{{one}}} == 1")
        expected_outcome = next(c.outcome for c in gate_run.gate if c.function == function)
        assert [(series["metric"]["job"], series["metric"]["outcome"]) for series in gate] == [
            ("skybench-gate", str(expected_outcome))
        ]
    assert value_of(stack.query(f'{m.RUN_DURATION}{{{where}, job="skybench"}}')) == run.duration_seconds
    gate_duration = value_of(stack.query(f'{m.RUN_DURATION}{{{where}, job="skybench-gate"}}'))
    assert gate_duration == gate_run.duration_seconds
    last_success = value_of(stack.query(f"{m.LAST_SUCCESS}{{{where}}}"))  # the bench's only
    assert last_success == pytest.approx(run.started_at_unix_s + run.duration_seconds, rel=PUSH_REL)


def test_every_dashboard_panel_query_returns_data(
    telemetry_stack: Stack, synthetic_pushed: tuple[RunResult, RunResult]
) -> None:
    empty = [(uid, title, expr) for uid, title, expr in panel_queries() if not telemetry_stack.query(expr)]
    assert not empty, f"panel queries with no series: {empty}"


def push_change_point(stack: Stack, machine: str, function: str, at_s: float) -> None:
    """A change-point gauge as ``history`` writes it (its own job, one group per machine)."""
    registry = CollectorRegistry()
    labels = ("function", "impl", "workload", "direction", "source")
    gauge = Gauge(m.CHANGE_POINT_TIMESTAMP, "First run after a step.", labels, registry=registry)
    gauge.labels(function, "rust", WORKLOAD, "regression", "runs").set(at_s)
    push_to_gateway(
        str(stack.pushgateway), job="skybench-history", registry=registry, grouping_key={"machine": machine}
    )


def test_every_annotation_query_returns_data(
    telemetry_stack: Stack, synthetic_pushed: tuple[RunResult, RunResult]
) -> None:
    stack, (_, gate_run) = telemetry_stack, synthetic_pushed
    change_point_s = gate_run.started_at_unix_s - 3600.0
    push_change_point(stack, "live-synthetic", TEMPLATE_VALUES["$function"], change_point_s)
    stack.wait_for(f'{m.CHANGE_POINT_TIMESTAMP}{{machine="live-synthetic"}}')
    results = {(uid, name): stack.query(expr) for uid, name, expr in annotation_queries()}
    assert all(results.values()), f"annotation queries with no series: {results}"
    for (_, name), series in results.items():
        mine = [item for item in series if item["metric"]["machine"] == "live-synthetic"]
        if name == "Gate runs":  # the synthetic gate run has one regression (hash_file)
            assert [item["metric"]["run_id"] for item in mine] == [gate_run.run_id]
            assert mine[0]["metric"]["outcome"] == "regression"
            expected_ms = gate_run.started_at_unix_s * 1000
        else:
            assert [item["metric"]["function"] for item in mine] == [TEMPLATE_VALUES["$function"]]
            expected_ms = change_point_s * 1000
        assert value_of(mine) == pytest.approx(expected_ms, rel=PUSH_REL)


def test_rules_evaluate_on_live_data(
    telemetry_stack: Stack, synthetic_pushed: tuple[RunResult, RunResult]
) -> None:
    stack = telemetry_stack
    stack.wait_for(
        'skybench:speedup:min_by_function{machine="live-synthetic"}', lambda r: len(r) == len(FUNCTIONS)
    )
    # The gate run has one regression (hash_file); the bench run has Rust slower on read_last_n_lines.
    regression = stack.wait_for('ALERTS{alertname="SkybenchRegression", machine="live-synthetic"}')
    assert {(series["metric"]["function"], series["metric"]["job"]) for series in regression} == {
        (FUNCTIONS[1], "skybench-gate")
    }
    slower = stack.wait_for('ALERTS{alertname="SkybenchRustSlowerThanPython", machine="live-synthetic"}')
    assert {series["metric"]["function"] for series in slower} == {FUNCTIONS[0]}


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_until_dead(pid: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while is_running(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive after SIGKILL"
        time.sleep(0.05)


def test_pushgateway_killed_mid_run_then_publish_delivers(telemetry_stack: Stack, tmp_path: Path) -> None:
    stack = telemetry_stack
    run = synthetic_run(run_id=f"killed-{uuid.uuid4().hex[:8]}", machine="live-killed")
    group = m.grouping_key(run)
    stderr = io.StringIO()
    progress = PushgatewayProgress(
        stack.pushgateway, "skybench", group, timeout_seconds=2.0, min_interval_seconds=0.0, stderr=stderr
    )
    planned = len(run.pairs)
    progress(1, planned)
    assert progress.pushes == 1 and progress.error is None
    stack.wait_for(f'{m.PROGRESS_DONE}{{machine="live-killed"}}')
    os.kill(stack.pid("pushgateway"), signal.SIGKILL)  # mid-run
    wait_until_dead(stack.pid("pushgateway"))
    for done in range(2, planned + 1):
        progress(done, planned)
    assert progress.error is not None and "progress push" in stderr.getvalue()

    report = emit_run(run, tmp_path, TelemetryConfig(pushgateway=stack.pushgateway, send_timeout_seconds=2.0))
    pushgateway = report.sink("pushgateway")
    assert pushgateway is not None and not pushgateway.delivered
    assert (tmp_path / "metrics.prom").is_file()
    assert (tmp_path / "unsent" / "pushgateway.prom").is_file()

    restarted = stack.script("up")
    assert restarted.returncode == 0, restarted.stderr
    unsent_stderr = io.StringIO()
    assert not publish(tmp_path, TelemetryConfig(), stderr=unsent_stderr).all_delivered  # not told where
    assert f"pass --pushgateway {stack.pushgateway} to use it" in unsent_stderr.getvalue()
    delivered = publish(tmp_path, TelemetryConfig(pushgateway=stack.pushgateway))
    assert delivered.all_delivered, delivered
    assert not (tmp_path / "unsent").exists()
    stored = load_report(tmp_path)
    assert stored is not None and stored.all_delivered
    stack.wait_for(f'{m.RUN_INFO}_info{{machine="live-killed", run_id="{run.run_id}"}}')
    median = stack.wait_for(
        f'{m.CALL_MEDIAN}{{machine="live-killed", function="{FUNCTIONS[0]}", impl="rust"}}'
    )
    assert value_of(median) == pytest.approx(run.pairs[0].rust.median_ns / 1e9, rel=PUSH_REL)


def test_real_quick_bench_run_reaches_prometheus(telemetry_stack: Stack, tmp_path: Path) -> None:
    """A real ``bench --quick --only base36_encode`` run, published, equals its CSV in Prometheus."""
    stack = telemetry_stack
    bench = subprocess.run(
        [*BENCH_COMMAND, "--out", str(tmp_path / "reports"), "--no-progress"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if bench.returncode != 0:
        pytest.skip(f"the bench does not run yet (exit {bench.returncode}): {bench.stderr[-500:]}")
    run_dirs = sorted((tmp_path / "reports" / "runs").iterdir())
    assert len(run_dirs) == 1
    run_dir = run_dirs[0]
    run = load_run(run_dir)
    assert run is not None and run.pairs
    config = TelemetryConfig(
        pushgateway=stack.pushgateway, statsd=stack.statsd, statsd_prefix="skybench_real"
    )
    report = publish(run_dir, config, force=True)
    assert report.all_delivered, report
    where = f'machine="{m.machine_id(run.environment)}", suite="{run.mode}"'
    stack.wait_for(f'{m.RUN_INFO}_info{{{where}, run_id="{run.run_id}"}}')
    with (run_dir / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    for row in rows:
        csv_median_ns = float(row["median_ns"])
        if row["function"] == "_noop":  # the call floor
            series = f'{m.CALL_FLOOR}{{{where}, impl="{row["impl"]}"}}'
            statsd_name = f"skybench_real.call_floor.{row['impl']}.median_ns"
        else:
            side = f'function="{row["function"]}", impl="{row["impl"]}", workload="{row["workload"]}"'
            series = f"{m.CALL_MEDIAN}{{{where}, {side}}}"
            statsd_name = f"skybench_real.{row['function']}.{row['workload']}.{row['impl']}.median_ns"
        got = value_of(stack.query(series))
        assert got * 1e9 == pytest.approx(csv_median_ns, rel=1e-9), series
        got_ns = value_of(stack.wait_for(f'collectd_statsd_gauge{{statsd="{statsd_name}"}}'))
        assert got_ns == pytest.approx(csv_median_ns, rel=1e-9), statsd_name
    for pair in run.pairs:
        one = f'{where}, function="{pair.function}", workload="{pair.workload}"'
        assert value_of(stack.query(f"{m.SPEEDUP}{{{one}}}")) == pytest.approx(
            pair.speedup.value, rel=PUSH_REL
        )
    assert {Impl.RUST, Impl.PYTHON} <= {Impl(row["impl"]) for row in rows}


def test_gate_command_sends_its_verdicts(
    telemetry_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``gate`` command's own flags reach the sinks (its measuring is replaced: tests/gate cover it)."""
    stack = telemetry_stack
    report = synthetic_gate_report(duration_seconds=3.5)
    monkeypatch.setattr(gate_cli, "run_gate", lambda options, progress: report)
    monkeypatch.chdir(REPO)
    parser = argparse.ArgumentParser()
    gate_cli.register(parser.add_subparsers())
    arguments = parser.parse_args(
        [
            "gate",
            "--quick",
            "--out",
            str(tmp_path),
            "--pushgateway",
            str(stack.pushgateway),
            "--statsd",
            str(stack.statsd),
            "--statsd-prefix",
            "skybench_gatecli",
        ]
    )
    assert arguments.handler(arguments) == ExitCode.REGRESSION
    run = load_run(tmp_path)
    assert run is not None and run.kind == RunKind.GATE and run.gate == report.comparisons
    where = f'job="skybench-gate", machine="{m.machine_id(run.environment)}", suite="quick"'
    regression = stack.wait_for(f'{m.GATE_OUTCOME}{{{where}, outcome="regression"}} == 1')
    assert [series["metric"]["function"] for series in regression] == [FUNCTIONS[1]]
    statsd_name = f"skybench_gatecli.gate.{FUNCTIONS[1]}.{WORKLOAD}.rust.time.change_ratio"
    change = stack.wait_for(f'collectd_statsd_gauge{{statsd="{statsd_name}"}}')
    assert value_of(change) == report.comparisons[1].change_ratio
