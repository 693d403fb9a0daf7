"""Floor drift: Rust time / physical floor, base against head, is a warning that never changes a verdict or
the exit code, and a floor bench that cannot run says so instead of vanishing."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from harness.commands import gate as cli
from harness.functions.pairs.workload_types import Mode, Workload
from harness.gate import gate as gate_module
from harness.gate.build import Build
from harness.gate.compare import GatePolicy
from harness.gate.floor_drift import (
    SECTION_TITLE,
    FloorDrift,
    FloorDriftCheck,
    FloorRunner,
    check_floor_drift,
    judge_floor_drift,
    summary_lines,
    warning_lines,
)
from harness.gate.gate import GateOptions, targets_for
from harness.gate.outcome import ExitCode, GateReport
from harness.gate.outputs import JSON_NAME, SUMMARY_NAME, write_outputs
from harness.gate.summary import JOB_SUMMARY_LIMIT_BYTES, render_summary
from harness.measure.floors import FloorError
from harness.results import GateComparison, GateOutcome, Impl, NativeEstimate

POLICY = GatePolicy(min_effect=0.05)
REPO = Path(__file__).resolve().parents[2]


def _drift(
    base_rust: float,
    candidate_rust: float,
    base_floor: float = 100.0,
    candidate_floor: float = 100.0,
    change_ci_low: float | None = None,
) -> FloorDrift:
    # By default the paired interval's low end is the medians' ratio (a change with no spread).
    low = candidate_rust / base_rust if change_ci_low is None else change_ci_low
    return FloorDrift(
        "f", "w", base_rust, candidate_rust, base_floor, candidate_floor, threshold=0.05, change_ci_low=low
    )


def _time(
    workload: str,
    base_ns: float,
    candidate_ns: float,
    *,
    function: str = "f",
    impl: Impl = Impl.RUST,
    metric: str = "time",
    outcome: GateOutcome = GateOutcome.PASS,
) -> GateComparison:
    ratio = candidate_ns / base_ns
    return GateComparison(
        function, impl, workload, metric, ratio, ratio, ratio, None, outcome, "d",
        base_median=base_ns, candidate_median=candidate_ns,
    )  # fmt: skip


def _floor(ns: float) -> NativeEstimate:
    return NativeEstimate(ns, ns * 0.99, ns * 1.01)


def test_drift_when_the_rust_side_moves_away_from_its_floor_beyond_the_effect() -> None:
    drift = _drift(200.0, 240.0)
    assert (drift.base_ratio, drift.candidate_ratio) == (2.0, 2.4)
    assert drift.drifted


def test_no_drift_when_rust_and_floor_move_together() -> None:
    assert not _drift(200.0, 240.0, base_floor=100.0, candidate_floor=120.0).drifted


def test_no_drift_when_the_paired_interval_reaches_no_change() -> None:
    # The medians moved +12%, but the paired change's interval reaches below 1: noise, no warning.
    assert not _drift(200.0, 224.0, change_ci_low=0.96).drifted
    assert not _drift(200.0, 224.0, change_ci_low=1.0).drifted
    assert _drift(200.0, 224.0, change_ci_low=1.01).drifted


def test_no_drift_within_the_effect_or_towards_the_floor() -> None:
    assert not _drift(200.0, 209.0).drifted  # +4.5% < +5%
    assert not _drift(200.0, 210.0).drifted  # exactly +5%: not beyond it
    assert not _drift(200.0, 150.0).drifted  # closer to the floor: no warning


def test_the_threshold_is_the_timing_comparisons_own_raised_by_a_noise_floor() -> None:
    comparisons = [_time("noisy", 200.0, 240.0), _time("quiet", 200.0, 240.0)]
    floors = {"f/noisy": _floor(100.0), "f/quiet": _floor(100.0)}
    check = judge_floor_drift(comparisons, floors, policy=POLICY, noise_floors={"f/rust/noisy/time": 0.25})
    assert [(p.workload, p.threshold, p.drifted) for p in check.pairs] == [
        ("noisy", 0.25, False),
        ("quiet", 0.05, True),
    ]


def test_only_judged_rust_times_are_checked_and_a_missing_floor_is_named() -> None:
    comparisons = [
        _time("w", 200.0, 300.0, impl=Impl.PYTHON),
        _time("w", 200.0, 300.0, metric="alloc_bytes"),
        _time("w", 200.0, 300.0, outcome=GateOutcome.CANNOT_JUDGE),
        _time("w", 200.0, 300.0),
        _time("gone", 200.0, 300.0),
    ]
    check = judge_floor_drift(comparisons, {"f/w": _floor(100.0)}, policy=POLICY, noise_floors={})
    assert [p.workload for p in check.pairs] == ["w"] and check.without_floor == ("f/gone",)


def _rust_targets(count: int) -> list[tuple[str, str]]:
    return [(t.function, t.workload) for t in targets_for(Mode.QUICK, ())][:count]


def test_the_floors_are_measured_once_for_the_compared_rust_workloads() -> None:
    (function, workload), (other, other_workload) = _rust_targets(2)
    comparisons = [
        _time(workload, 100.0, 130.0, function=function),
        _time(other_workload, 100.0, 100.0, function=other, impl=Impl.PYTHON),
    ]
    asked: list[list[str]] = []

    def run(workloads: Sequence[Workload]) -> Mapping[str, NativeEstimate]:
        asked.append([f"{w.function}/{w.id}" for w in workloads])
        return {f"{function}/{workload}": _floor(50.0)}

    check = check_floor_drift(comparisons, mode=Mode.QUICK, policy=POLICY, noise_floors={}, run=run)
    assert asked == [[f"{function}/{workload}"]]
    assert [(d.base_ratio, d.candidate_ratio) for d in check.drifts] == [(2.0, 2.6)]


def test_a_floor_bench_that_fails_is_not_checked_with_its_reason() -> None:
    [(function, workload)] = _rust_targets(1)

    def run(workloads: Sequence[Workload]) -> Mapping[str, NativeEstimate]:
        raise FloorError("cargo is not on PATH: the floor bench cannot be built")

    comparisons = [_time(workload, 100.0, 200.0, function=function)]
    check = check_floor_drift(comparisons, mode=Mode.QUICK, policy=POLICY, noise_floors={}, run=run)
    assert check.not_checked == "cargo is not on PATH: the floor bench cannot be built"
    assert warning_lines(check) == [f"floor drift not checked: {check.not_checked}"]
    assert check.drifts == ()


def test_switched_off_the_gate_says_so_and_runs_no_floor() -> None:
    said: list[str] = []
    check = gate_module._floor_drift(GateOptions(floor_drift=False), None, [], {}, said.append)  # type: ignore[arg-type]
    assert check.not_checked == "switched off" and said == []


def test_the_gate_turns_a_failing_floor_bench_into_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    [(function, workload)] = _rust_targets(1)
    asked: list[Path] = []

    def runner(mode: Mode, scratch: Path, native_dir: Path) -> FloorRunner:
        asked.append(native_dir)

        def run(workloads: Sequence[Workload]) -> Mapping[str, NativeEstimate]:
            raise FloorError("building the floor bench failed (exit 101)")

        return run

    monkeypatch.setattr(gate_module, "floor_runner", runner)
    candidate = Build("candidate", "c" * 40, Path("/head"), Path("/head/python"))
    comparisons = [_time(workload, 100.0, 200.0, function=function)]
    check = gate_module._floor_drift(GateOptions(), candidate, comparisons, {}, lambda message: None)
    assert check.not_checked == "building the floor bench failed (exit 101)"
    assert asked == [Path("/head/native")]


DRIFTED = FloorDriftCheck(pairs=(_drift(200.0, 240.0), _drift(200.0, 201.0)))
NOT_CHECKED = FloorDriftCheck(not_checked="building the floor bench failed (exit 101)")


@pytest.mark.parametrize("outcome", [GateOutcome.PASS, GateOutcome.REGRESSION])
def test_a_drift_never_changes_the_exit_code(outcome: GateOutcome) -> None:
    report = GateReport("against", "b", "c", comparisons=(_time("w", 200.0, 240.0, outcome=outcome),))
    for check in (DRIFTED, NOT_CHECKED):
        assert replace(report, floor_drift=check).exit_code is report.exit_code
    assert report.exit_code is (ExitCode.REGRESSION if outcome is GateOutcome.REGRESSION else ExitCode(0))


def test_the_summary_shows_the_drifts_with_both_ratios() -> None:
    report = GateReport("against", "b", "c", comparisons=(_time("w", 200.0, 240.0),), floor_drift=DRIFTED)
    text = render_summary(report, limit_bytes=JOB_SUMMARY_LIMIT_BYTES)
    assert f"## {SECTION_TITLE}" in text and "Exit 0 (passes CI)" in text
    assert "| f (Rust) w | 100 ns | 2.00x | 2.40x | +5% |" in text
    assert "1 of 2 checked" in text and "does not fail the gate" in text


def test_the_summary_says_when_nothing_drifted_was_not_checked_or_was_not_run() -> None:
    quiet = FloorDriftCheck(pairs=(_drift(200.0, 201.0),), without_floor=("g/w",))
    assert "No Rust function drifted from its physical floor (1 checked; no floor for g/w)." in summary_lines(
        quiet
    )
    assert summary_lines(NOT_CHECKED)[-1] == (
        "Floor drift not checked: building the floor bench failed (exit 101). This does not fail the gate."
    )
    assert summary_lines(None) == []
    assert SECTION_TITLE not in render_summary(GateReport("against", "b", "c"), limit_bytes=10_000)


def test_the_json_holds_the_drifts_and_the_reason_not_checked(tmp_path: Path) -> None:
    for check, name in ((DRIFTED, "drifted"), (NOT_CHECKED, "not-checked")):
        out = tmp_path / name
        write_outputs(GateReport("against", "b", "c", floor_drift=check), out)
        data = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))["floor_drift"]
        assert SECTION_TITLE in (out / SUMMARY_NAME).read_text(encoding="utf-8")
        if check is DRIFTED:
            assert data["checked"] and len(data["pairs"]) == 2
            [drift] = data["drifts"]
            assert (drift["base_ratio"], drift["candidate_ratio"], drift["drifted"]) == (2.0, 2.4, True)
        else:
            assert data["checked"] is False and data["not_checked"] == NOT_CHECKED.not_checked
    write_outputs(GateReport("against", "b", "c"), tmp_path / "none")
    assert json.loads((tmp_path / "none" / JSON_NAME).read_text(encoding="utf-8"))["floor_drift"] is None


def _command(argv: list[str], tmp_path: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    return parser.parse_args(["gate", *argv, "--no-push", "--out", str(tmp_path / "out")])


def test_the_command_warns_on_stderr_keeps_the_exit_code_and_can_switch_it_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert cli.gate_options(_command([], tmp_path)).gate.floor_drift
    assert not cli.gate_options(_command(["--no-floor-drift"], tmp_path)).gate.floor_drift
    report = GateReport("against", "b", "c", comparisons=(_time("w", 200.0, 240.0),), floor_drift=DRIFTED)
    monkeypatch.setattr(cli, "run_gate", lambda options, progress: report)
    assert cli.gate_and_publish(cli.gate_options(_command([], tmp_path))) == ExitCode.NO_REGRESSION
    stderr = capsys.readouterr().err
    assert "gate: warning: floor drift: f (Rust) w: Rust / floor 2.00x -> 2.40x (beyond +5%)" in stderr
