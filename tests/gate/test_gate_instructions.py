"""Instruction counting under callgrind: deterministic, and sees a 2% change in the work of a call."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from harness.gate.instructions import InstructionCount, InstructionJob, count_instructions, judge_instructions
from harness.results import GateOutcome, Impl

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
]

REPO = Path(__file__).resolve().parents[2]

# A stand-in for harness.functions.registry.build_call: workload "loop-N" runs a Python loop of N iterations.
FAKE_FACTORY = """
def build_call(function, impl, workload, scratch):
    iterations = int(workload.split("-")[1])
    def call():
        total = 0
        for index in range(iterations):
            total += index * 3
        return total
    return call
"""


def _count(tmp_path: Path, workloads: list[str]) -> dict[str, float | None]:
    (tmp_path / "fake_calls.py").write_text(FAKE_FACTORY, encoding="utf-8")
    jobs = [InstructionJob("loop", Impl.PYTHON, workload) for workload in workloads]
    counts = count_instructions(
        Path(sys.executable), jobs, cwd=REPO, scratch=tmp_path, calls=5,
        factory="fake_calls:build_call", extra_environment={"PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    return {count.job.workload: count.instructions_per_call for count in counts}


def test_counts_are_deterministic_and_see_a_two_percent_change(tmp_path: Path) -> None:
    first = _count(tmp_path, ["loop-1000", "loop-1020"])
    second = _count(tmp_path, ["loop-1000"])
    base, slower = first["loop-1000"], first["loop-1020"]
    assert base is not None and slower is not None
    assert base == second["loop-1000"]  # the same call counts the same in another process
    assert 1.015 < slower / base < 1.025  # 2% more iterations, about 2% more instructions
    assert base > 10_000  # the loop's work was counted, not just the call

    def verdict(base_workload: str, candidate_workload: str) -> GateOutcome:
        job = InstructionJob("loop", Impl.PYTHON, "w")
        (comparison,) = judge_instructions(
            [InstructionCount(job, first[base_workload])],
            [InstructionCount(job, first[candidate_workload])],
            relative_threshold=0.01,
        )
        return comparison.outcome

    assert verdict("loop-1000", "loop-1020") is GateOutcome.REGRESSION
    assert verdict("loop-1000", "loop-1000") is GateOutcome.PASS


def test_a_failing_call_is_reported_not_fatal(tmp_path: Path) -> None:
    counts = _count(tmp_path, ["loop-100", "not-a-number"])
    assert counts["loop-100"] is not None
    assert counts["not-a-number"] is None
