"""Instruction counts beside time for the Rust suspects: which are counted, the labels, what fails, and
that a gate without valgrind says it did not count."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.functions.pairs.workload_types import Mode
from harness.gate.build import Build
from harness.gate.instructions import InstructionCount, InstructionCountError, InstructionJob
from harness.gate.outcome import ExitCode, GateReport
from harness.gate.outputs import format_table
from harness.gate.summary import render_summary
from harness.gate.suspect_instructions import (
    Evidence,
    SuspectInstructions,
    count_suspects,
    should_count,
)
from harness.gate.two_stage import SCREEN_DECIDED
from harness.results import GateComparison, GateOutcome, Impl

BASE = Build("base", "b" * 40, Path("/base"), Path("/base/python"))
CANDIDATE = Build("candidate", "c" * 40, Path("/candidate"), Path("/candidate/python"))


def _time(
    workload: str, outcome: GateOutcome, *, impl: Impl = Impl.RUST, suspect: bool = True
) -> GateComparison:
    detail = "stage 2 (confirm) decided: ..." if suspect else f"{SCREEN_DECIDED}: not a suspect"
    return GateComparison("f", impl, workload, "time", 1.08, 1.02, 1.12, 0.01, outcome, detail)


class FakeCounter:
    """Instructions per call by (build label, workload); records the jobs it was asked for."""

    def __init__(self, counts: dict[tuple[str, str], float]) -> None:
        self.counts = counts
        self.asked: list[tuple[str, list[str]]] = []

    def __call__(self, build: Build, jobs: Sequence[InstructionJob]) -> list[InstructionCount]:
        self.asked.append((build.label, [job.key for job in jobs]))
        return [InstructionCount(job, self.counts[build.label, job.workload]) for job in jobs]


def _counts(base: float, candidate: float, workloads: Sequence[str]) -> dict[tuple[str, str], float]:
    return {
        key: value for w in workloads for key, value in (((("base", w)), base), (("candidate", w), candidate))
    }


def test_only_the_rust_time_suspects_are_counted_on_both_builds() -> None:
    comparisons = [
        _time("suspect", GateOutcome.PASS),
        _time("screened", GateOutcome.PASS, suspect=False),
        _time("python", GateOutcome.REGRESSION, impl=Impl.PYTHON),
    ]
    counter = FakeCounter(_counts(1000.0, 1000.0, ["suspect"]))
    counted = count_suspects(comparisons, (BASE, CANDIDATE), threshold=0.01, counter=counter)
    assert counter.asked == [("base", ["f/rust/suspect"]), ("candidate", ["f/rust/suspect"])]
    assert [c.metric for c in counted.comparisons] == ["instructions"]
    assert counted.evidence == {"f/rust/suspect/time": Evidence.NEITHER.value}


@pytest.mark.parametrize(
    ("time_outcome", "candidate_instructions", "label", "exit_code"),
    [
        (GateOutcome.REGRESSION, 1100.0, Evidence.BOTH, ExitCode.REGRESSION),
        (GateOutcome.REGRESSION, 1002.0, Evidence.TIME_ONLY, ExitCode.REGRESSION),
        (GateOutcome.PASS, 1100.0, Evidence.COUNTS_ONLY, ExitCode.NO_REGRESSION),  # a warning only
        (GateOutcome.PASS, 1002.0, Evidence.NEITHER, ExitCode.NO_REGRESSION),
    ],
)
def test_each_suspect_says_what_saw_it_and_only_confirmed_time_fails(
    time_outcome: GateOutcome, candidate_instructions: float, label: Evidence, exit_code: ExitCode
) -> None:
    suspect = _time("w", time_outcome)
    counted = count_suspects(
        [suspect],
        (BASE, CANDIDATE),
        threshold=0.01,
        counter=FakeCounter(_counts(1000.0, candidate_instructions, ["w"])),
    )
    report = GateReport(
        mode="against", base=BASE.commit, candidate=CANDIDATE.commit,
        comparisons=(suspect, *counted.comparisons), evidence=counted.evidence or {}, notes=(counted.note,),
    )  # fmt: skip
    assert report.exit_code is exit_code
    assert report.to_json_dict()["evidence"] == {"f/rust/w/time": label.value}
    table = format_table(report)
    assert sum(f"({label.value})" in line for line in table.splitlines()) == 2  # the time and the count row
    assert f"({label.value})" in render_summary(report, limit_bytes=1 << 20)
    assert f"1 {label.value}" in counted.note


def test_no_suspect_no_count() -> None:
    counter = FakeCounter({})
    counted = count_suspects(
        [_time("w", GateOutcome.PASS, suspect=False)], (BASE, CANDIDATE), threshold=0.01, counter=counter
    )
    assert counter.asked == [] and counted.comparisons == () and "no Rust time suspect" in counted.note


def test_without_valgrind_the_gate_says_it_did_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    count, note = should_count(SuspectInstructions.AUTO, Mode.QUICK)
    assert not count and "NOT counted: valgrind not found" in note
    with pytest.raises(InstructionCountError, match="valgrind is not installed"):
        should_count(SuspectInstructions.ON, Mode.QUICK)


def test_auto_counts_in_quick_mode_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "valgrind"
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert should_count(SuspectInstructions.AUTO, Mode.QUICK) == (True, "")
    assert not should_count(SuspectInstructions.AUTO, Mode.DEFAULT)[0]
    assert should_count(SuspectInstructions.ON, Mode.DEFAULT) == (True, "")
    assert not should_count(SuspectInstructions.OFF, Mode.QUICK)[0]


def test_the_gate_reports_the_count_it_did_not_take(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.gate.gate import GateOptions, _suspect_instructions  # noqa: PLC0415

    monkeypatch.setenv("PATH", "/nonexistent")
    said: list[str] = []
    options = GateOptions(mode=Mode.QUICK)
    counting = should_count(options.suspect_instructions, options.mode)
    counted = _suspect_instructions(
        options, counting, (BASE, CANDIDATE), [_time("w", GateOutcome.PASS)], said.append
    )
    assert counted.comparisons == () and "NOT counted" in counted.note and said == [counted.note]
