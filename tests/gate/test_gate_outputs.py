"""The gate's outputs: JUnit XML that CI systems parse, Markdown summary, exit code rules."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.gate.outcome import CannotJudge, CannotJudgeCode, ExitCode, GateReport, exit_code_for
from harness.gate.outputs import format_change, format_table, junit_xml, write_outputs
from harness.gate.summary import JOB_SUMMARY_LIMIT_BYTES, render_summary
from harness.results import GateComparison, GateOutcome, Impl


def _comparison(function: str, outcome: GateOutcome, ratio: float = 1.0) -> GateComparison:
    return GateComparison(
        function=function, impl=Impl.PYTHON, workload="w", metric="time", change_ratio=ratio,
        ci_low=ratio * 0.98, ci_high=ratio * 1.02, p_value_adjusted=0.01, outcome=outcome, detail="why <&>",
    )  # fmt: skip


REPORT = GateReport(
    mode="against",
    base="abc123",
    candidate="working tree",
    comparisons=(
        _comparison("a", GateOutcome.PASS),
        _comparison("b", GateOutcome.REGRESSION, 1.2),
        _comparison("c", GateOutcome.REGRESSION, 1.3),
        _comparison("d", GateOutcome.CANNOT_JUDGE),
        _comparison("e", GateOutcome.IMPROVEMENT, 0.8),
    ),
)


def test_junit_has_one_testcase_per_comparison_and_one_failure_per_regression() -> None:
    root = ET.fromstring(junit_xml(REPORT))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 5
    failed = [case.get("classname") for case in cases if case.find("failure") is not None]
    assert failed == ["skybench.gate.b", "skybench.gate.c"]
    assert suite.get("failures") == "2" and suite.get("tests") == "5" and suite.get("skipped") == "1"
    assert [case.get("classname") for case in cases if case.find("skipped") is not None] == [
        "skybench.gate.d"
    ]


def test_junit_of_a_run_that_cannot_be_judged_has_a_skipped_case() -> None:
    report = GateReport(
        mode="against",
        base="x",
        candidate="y",
        cannot_judge=CannotJudge(CannotJudgeCode.NO_PARENT, "no parent"),
    )
    suite = ET.fromstring(junit_xml(report)).find("testsuite")
    assert suite is not None
    (case,) = suite.findall("testcase")
    skipped = case.find("skipped")
    assert skipped is not None and "no parent" in (skipped.get("message") or "")


def test_exit_codes() -> None:
    assert REPORT.exit_code is ExitCode.REGRESSION
    assert exit_code_for([_comparison("a", GateOutcome.PASS)]) is ExitCode.NO_REGRESSION
    assert exit_code_for([_comparison("a", GateOutcome.IMPROVEMENT)]) is ExitCode.NO_REGRESSION
    assert exit_code_for([]) is ExitCode.CANNOT_JUDGE
    assert exit_code_for([_comparison("a", GateOutcome.CANNOT_JUDGE)]) is ExitCode.CANNOT_JUDGE
    # One comparison the base lacks does not make a judged run unjudgeable...
    mixed = [_comparison("a", GateOutcome.PASS), _comparison("b", GateOutcome.CANNOT_JUDGE)]
    assert exit_code_for(mixed) is ExitCode.NO_REGRESSION
    # ...and a measured regression wins over a run-level reason.
    other_machine = CannotJudge(CannotJudgeCode.OTHER_MACHINE_BASELINE, "other machine")
    assert exit_code_for([_comparison("b", GateOutcome.REGRESSION)], other_machine) is ExitCode.REGRESSION
    assert exit_code_for([_comparison("a", GateOutcome.PASS)], other_machine) is ExitCode.CANNOT_JUDGE


def test_markdown_and_table_lead_with_the_conclusion_and_list_regressions() -> None:
    summary = render_summary(REPORT, limit_bytes=JOB_SUMMARY_LIMIT_BYTES)
    assert "Exit 1 (fails CI)" in summary
    headline = summary.splitlines()[0]
    assert headline.startswith("## Regression gate: 2 regressions: c (Python) w +30.0%")
    assert "b (Python) w +20.0%" in headline
    table = format_table(REPORT).splitlines()
    assert table[2].startswith("b ") and table[3].startswith("c ")  # regressions first
    assert table[-1].startswith("gate: regression found (exit 1)")


def test_format_change() -> None:
    assert format_change(1.1) == "+10.0%"
    assert format_change(0.95) == "-5.0%"
    assert format_change(float("inf")) == "new"


def test_write_outputs_writes_json_that_round_trips(tmp_path: Path) -> None:
    paths = write_outputs(REPORT, tmp_path)
    assert [p.name for p in paths] == [
        "gate-summary.md",
        "gate-comment.md",
        "gate-junit.xml",
        "gate-comparisons.json",
        "report.html",
    ]
    data = json.loads(paths[3].read_text(encoding="utf-8"))
    assert data["exit_code"] == 1
    assert [c["outcome"] for c in data["comparisons"]].count("regression") == 2


def test_every_exit_3_names_its_reason_in_the_json_and_the_summary(tmp_path: Path) -> None:
    explicit = GateReport(
        mode="against",
        base="x",
        candidate="y",
        cannot_judge=CannotJudge(CannotJudgeCode.BASE_PREDATES_WORKER, "abc has no harness/worker.py"),
    )
    nothing = GateReport(
        mode="against", base="x", candidate="y", comparisons=(_comparison("d", GateOutcome.CANNOT_JUDGE),)
    )
    for report, code in ((explicit, "base-predates-worker"), (nothing, "nothing-judged")):
        paths = {path.name: path for path in write_outputs(report, tmp_path / code)}
        data = json.loads(paths["gate-comparisons.json"].read_text(encoding="utf-8"))
        assert data["exit_code"] == 3
        assert data["cannot_judge"]["reason"] == code and data["cannot_judge"]["side"] == "change"
        assert f"reason `{code}`" in paths["gate-summary.md"].read_text(encoding="utf-8")
    judged = json.loads(write_outputs(REPORT, tmp_path / "judged")[3].read_text(encoding="utf-8"))
    assert judged["cannot_judge"] is None  # exit 1: no reason to give
