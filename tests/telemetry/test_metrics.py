"""The exposition of a run: Prometheus's own linter accepts it, and every value equals the RunResult."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.results import GateOutcome, Impl
from harness.telemetry import metrics as m
from harness.telemetry.textfile import exposition, write_textfile

from .synthetic import FUNCTIONS, synthetic_gate_run, synthetic_run


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool not found: run scripts/install-telemetry-deps.sh"
    return path


def samples(text: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def test_promtool_check_metrics_finds_nothing_to_say() -> None:
    for run, succeeded in ((synthetic_run(), True), (synthetic_run(), False), (synthetic_gate_run(), True)):
        result = subprocess.run(
            [promtool(), "check", "metrics"],
            input=exposition(run, succeeded=succeeded),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout == b"" and result.stderr == b""


def test_values_equal_the_run_result() -> None:
    run = synthetic_run()
    values = samples(exposition(run, succeeded=True))
    for pair in run.pairs:
        for sample in (pair.rust, pair.python):
            labels = frozenset(
                {"function": pair.function, "impl": str(sample.impl), "workload": pair.workload}.items()
            )
            assert values[(m.CALL_MEDIAN, labels)] == pytest.approx(sample.median_ns / 1e9, rel=1e-12)
            assert values[(m.CALL_STDEV, labels)] == pytest.approx(sample.stdev_ns / 1e9, rel=1e-12)
            assert values[(m.CALL_MAX, labels)] == pytest.approx(sample.max_ns / 1e9, rel=1e-12)
        pair_labels = frozenset({"function": pair.function, "workload": pair.workload}.items())
        assert values[(m.SPEEDUP, pair_labels)] == pair.speedup.value
        assert values[(m.SPEEDUP_CI_UPPER, pair_labels)] == pair.speedup.ci_high
        verdict = frozenset({*pair_labels, ("verdict", str(pair.verdict))})
        assert values[(m.CLAIM_VERDICT, verdict)] == 1.0
    fallback = frozenset({"function": FUNCTIONS[3], "impl": "rust"}.items())
    assert values[(m.FALLBACK_CALLS + "_total", fallback)] == run.fallback_calls[f"{FUNCTIONS[3]}/rust"]
    floor = frozenset({"impl": str(Impl.PYTHON)}.items())
    assert run.call_floor is not None
    assert values[(m.CALL_FLOOR, floor)] == pytest.approx(run.call_floor.python.median_ns / 1e9, rel=1e-12)


def test_the_fallback_side_and_what_callers_get_are_metrics() -> None:
    run = synthetic_run()
    values = samples(exposition(run, succeeded=True))
    routed = [pair for pair in run.pairs if pair.fallback is not None]
    assert routed and len(routed) < len(run.pairs), "the synthetic run has a pair with no fallback side"
    for pair in run.pairs:
        side = frozenset({"function": pair.function, "impl": "fallback", "workload": pair.workload}.items())
        pair_labels = frozenset({"function": pair.function, "workload": pair.workload}.items())
        if pair.fallback is None or pair.production_speedup is None or pair.dispatch_overhead is None:
            assert (m.CALL_MEDIAN, side) not in values
            assert (m.PRODUCTION_SPEEDUP, pair_labels) not in values
            continue
        assert values[(m.CALL_MEDIAN, side)] == pytest.approx(pair.fallback.median_ns / 1e9, rel=1e-12)
        assert values[(m.PRODUCTION_SPEEDUP, pair_labels)] == pair.production_speedup.value
        assert values[(m.PRODUCTION_SPEEDUP_CI_UPPER, pair_labels)] == pair.production_speedup.ci_high
        overhead_s = values[(m.DISPATCH_OVERHEAD, pair_labels)]
        assert overhead_s == pytest.approx(40.5e-9, rel=1e-9)  # the synthetic fallback is 40.5 ns over Rust


def test_gate_run_has_its_comparisons_and_no_bench_facts() -> None:
    run = synthetic_gate_run()
    values = samples(exposition(run, succeeded=True))
    for comparison in run.gate:
        labels = {
            "function": comparison.function,
            "impl": str(comparison.impl),
            "workload": comparison.workload,
            "metric": comparison.metric,
        }
        for outcome in GateOutcome:
            state = frozenset({**labels, "outcome": str(outcome)}.items())
            assert values[(m.GATE_OUTCOME, state)] == float(outcome == comparison.outcome)
        assert values[(m.GATE_CHANGE, frozenset(labels.items()))] == comparison.change_ratio
        assert values[(m.GATE_CHANGE_CI_UPPER, frozenset(labels.items()))] == comparison.ci_high
    assert values[(m.RUN_DURATION, frozenset())] == run.duration_seconds
    info = next(dict(labels) for (name, labels) in values if name == m.RUN_INFO + "_info")
    assert info["kind"] == "gate" and info["run_id"] == run.run_id
    # Not the daily bench: no last-success time for SkybenchNotReporting, no pair counts.
    names = {name for name, _ in values}
    assert not names & {m.LAST_SUCCESS, m.RUN_PAIRS, m.RUN_NOT_COMPARABLE, m.RUN_INTERRUPTED, m.CALL_MEDIAN}


def test_last_success_only_on_success() -> None:
    run = synthetic_run()
    assert (m.LAST_SUCCESS, frozenset()) in samples(exposition(run, succeeded=True))
    assert (m.LAST_SUCCESS, frozenset()) not in samples(exposition(run, succeeded=False))


def test_run_id_is_only_on_the_info_metric() -> None:
    names_with_run_id = {
        name
        for (name, labels) in samples(exposition(synthetic_run(), succeeded=True))
        if dict(labels).get("run_id")
    }
    assert names_with_run_id == {"skybench_run_info"}


def test_textfile_is_written_whole(tmp_path: Path) -> None:
    run = synthetic_run()
    path = write_textfile(run, tmp_path, succeeded=True)
    assert path == tmp_path / "metrics.prom"
    assert path.read_bytes() == exposition(run, succeeded=True)
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.prom"]  # no temporary file left behind
    assert path.stat().st_mode & 0o644 == 0o644


def test_grouping_key_uses_the_machine_fingerprint() -> None:
    run = synthetic_run(machine="box/with spaces")
    assert m.grouping_key(run) == {"suite": "quick", "machine": "box_with_spaces"}
