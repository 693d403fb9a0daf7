"""report.md is byte-for-byte what it was: each fixture run against its stored text in ``golden/``.

The stored texts were rendered by the report before it was split into modules; a change to the report's
wording or layout regenerates them on purpose: ``python -m tests.report.test_report_golden``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from harness.results import GateComparison, GateOutcome, Impl, RunResult
from harness.sinks.report import render_report

from .synthetic import run_with_fallback, run_with_references, synthetic_run

GOLDEN_DIR = Path(__file__).parent / "golden"


def _with_gate_and_overhead() -> RunResult:
    comparison = GateComparison(
        function="format_float", impl=Impl.PYTHON, workload="batch", metric="time", change_ratio=1.112,
        ci_low=1.088, ci_high=1.136, p_value_adjusted=0.0021, outcome=GateOutcome.REGRESSION,
        detail="median +11.2%; 30 rounds",
    )  # fmt: skip
    imports_ns = {"sky_rs": 1_250_000.0, "harness.functions.fallback": 3_400_000.0}
    return replace(synthetic_run(), gate=(comparison,), timer_overhead_ns=12.5, import_time_ns=imports_ns)


def _empty() -> RunResult:
    return replace(
        synthetic_run(), pairs=(), not_comparable=(), call_floor=None, import_time_ns={}, fallback_calls={}
    )


CASES: dict[str, Callable[[], RunResult]] = {
    "synthetic": synthetic_run,
    "interrupted": lambda: synthetic_run(interrupted=True),
    "references": run_with_references,
    "gate-and-overhead": _with_gate_and_overhead,
    "empty": _empty,
    "fallback": run_with_fallback,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_report_md_is_unchanged(case: str) -> None:
    expected = (GOLDEN_DIR / f"{case}.md").read_text(encoding="utf-8")
    assert render_report(CASES[case]()) == expected


if __name__ == "__main__":
    for name, build in CASES.items():
        (GOLDEN_DIR / f"{name}.md").write_text(render_report(build()), encoding="utf-8")
