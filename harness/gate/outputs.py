"""The gate's outputs: the terminal table, the summaries (``harness.gate.summary``), ``gate-junit.xml``,
``gate-comparisons.json`` and ``report.html``."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.atomic import write_json_atomic, write_text_atomic
from harness.gate.outcome import ExitCode, GateReport, comparison_key
from harness.gate.summary import could_see, evidence_label, render_summary, summaries
from harness.results import GateComparison, GateOutcome
from harness.sinks.report_html import HTML_FILENAME, write_html_page

SUMMARY_NAME = "gate-summary.md"
FULL_PAGE_LIMIT_BYTES = 64 * 1024 * 1024
JUNIT_NAME = "gate-junit.xml"
JSON_NAME = "gate-comparisons.json"

_HEADERS = ("pair", "side", "workload", "metric", "change", "interval", "p (adj.)", "could see", "verdict")
_VERDICT_WORDS = {
    GateOutcome.PASS: "pass",
    GateOutcome.REGRESSION: "REGRESSION",
    GateOutcome.IMPROVEMENT: "improvement",
    GateOutcome.CANNOT_JUDGE: "cannot judge",
}
_EXIT_WORDS = {
    ExitCode.NO_REGRESSION: "no regression",
    ExitCode.REGRESSION: "regression found",
    ExitCode.USAGE_OR_TOOL_ERROR: "usage or tool error",
    ExitCode.CANNOT_JUDGE: "cannot judge",
}


def format_change(ratio: float) -> str:
    """A ratio as a signed percentage: 1.1 -> ``+10.0%``."""
    if not math.isfinite(ratio) or ratio > 1e6:
        return "new"
    return f"{(ratio - 1) * 100:+.1f}%"


def _row(comparison: GateComparison, label: str = "") -> tuple[str, ...]:
    interval = (
        "-"
        if comparison.ci_low == comparison.ci_high
        else f"[{format_change(comparison.ci_low)}, {format_change(comparison.ci_high)}]"
    )
    p_value = "-" if comparison.p_value_adjusted is None else f"{comparison.p_value_adjusted:.3g}"
    return (
        comparison.function,
        str(comparison.impl),
        comparison.workload,
        comparison.metric,
        "-" if comparison.outcome is GateOutcome.CANNOT_JUDGE else format_change(comparison.change_ratio),
        interval,
        p_value,
        could_see(comparison),
        _VERDICT_WORDS[comparison.outcome] + label,
    )


def _ordered(comparisons: Sequence[GateComparison]) -> list[GateComparison]:
    """Regressions first, then cannot-judge, improvements, passes; stable within each."""
    rank = {
        GateOutcome.REGRESSION: 0,
        GateOutcome.CANNOT_JUDGE: 1,
        GateOutcome.IMPROVEMENT: 2,
        GateOutcome.PASS: 3,
    }
    return sorted(comparisons, key=lambda c: rank[c.outcome])


def format_table(report: GateReport) -> str:
    """Plain-text table for the terminal, then the conclusion line."""
    rows = [_HEADERS, *(_row(c, evidence_label(report, c)) for c in _ordered(report.comparisons))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    lines.append(conclusion(report))
    return "\n".join(lines)


def conclusion(report: GateReport) -> str:
    code = report.exit_code
    counts = {outcome: 0 for outcome in GateOutcome}
    for comparison in report.comparisons:
        counts[comparison.outcome] += 1
    tally = ", ".join(f"{counts[o]} {_VERDICT_WORDS[o]}" for o in GateOutcome if counts[o])
    why = report.why_cannot_judge
    reason = f" [{why.code}]: {why.detail}" if why is not None else ""
    return f"gate: {_EXIT_WORDS[code]} (exit {int(code)}){reason}. {tally or 'no comparisons'}."


def junit_xml(report: GateReport) -> str:
    """JUnit XML: one testcase per comparison; regressions are failures, cannot-judge cases are skipped."""
    failures = len(report.regressions)
    skipped = sum(1 for c in report.comparisons if c.outcome is GateOutcome.CANNOT_JUDGE)
    errors = 1 if report.cannot_judge is not None else 0
    suites = ET.Element("testsuites", name="skybench-gate")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="skybench-gate",
        tests=str(len(report.comparisons) + errors),
        failures=str(failures),
        errors="0",
        skipped=str(skipped + errors),
        time=f"{report.duration_seconds:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("mode", report.mode), ("base", report.base), ("candidate", report.candidate)):
        ET.SubElement(properties, "property", name=name, value=value)
    if report.cannot_judge is not None:
        case = ET.SubElement(suite, "testcase", classname="skybench.gate", name="gate", time="0")
        message = f"cannot judge [{report.cannot_judge.code}]: {report.cannot_judge.detail}"
        ET.SubElement(case, "skipped", message=message)
    for comparison in report.comparisons:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"skybench.gate.{comparison.function}",
            name=f"{comparison.impl}/{comparison.workload}/{comparison.metric}",
            time="0",
        )
        message = f"{format_change(comparison.change_ratio)}: {comparison.detail}"
        if comparison.outcome is GateOutcome.REGRESSION:
            failure = ET.SubElement(case, "failure", message=message, type="regression")
            failure.text = _failure_text(comparison)
        elif comparison.outcome is GateOutcome.CANNOT_JUDGE:
            ET.SubElement(case, "skipped", message=f"cannot judge: {comparison.detail}")
        else:
            ET.SubElement(case, "system-out").text = f"{_VERDICT_WORDS[comparison.outcome]}: {message}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _failure_text(comparison: GateComparison) -> str:
    p_value = "n/a" if comparison.p_value_adjusted is None else f"{comparison.p_value_adjusted:.3g}"
    return (
        f"{comparison_key(comparison)}\n"
        f"change (candidate/base): {comparison.change_ratio:.4f} "
        f"[{comparison.ci_low:.4f}, {comparison.ci_high:.4f}]\n"
        f"adjusted p-value: {p_value}\n{comparison.detail}"
    )


def write_outputs(report: GateReport, out_dir: Path) -> list[Path]:
    """The job summary, the PR comment, JUnit, the JSON and ``report.html``, each atomically; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in summaries(report).items():
        paths.append(write_text_atomic(out_dir / name, text))
    paths.append(write_text_atomic(out_dir / JUNIT_NAME, junit_xml(report)))
    paths.append(write_json_atomic(out_dir / JSON_NAME, report.to_json_dict()))
    # The page has every row: the size limits are for what GitHub shows, not for the artifact.
    full = render_summary(report, limit_bytes=FULL_PAGE_LIMIT_BYTES)
    paths.append(write_html_page(out_dir / HTML_FILENAME, f"skybench gate {report.candidate}", full))
    return paths
