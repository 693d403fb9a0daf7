"""The PR summary: a headline in words, the counts, a table of what matters, why a pass is a pass, the
machine, and size limits that never cut a regression."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.gate.outcome import GateReport
from harness.gate.summary import (
    COMMENT_LIMIT_BYTES,
    COMMENT_MARKER,
    JOB_SUMMARY_LIMIT_BYTES,
    count,
    headline,
    render_summary,
    summaries,
)
from harness.results import GateComparison, GateOutcome, Impl

ENVIRONMENT = {
    "cpu_model": "Test CPU",
    "logical_cores": "2",
    "machine_fingerprint": "x86_64-test",
    "python_version": "3.11.7",
    "rustc_version": "rustc 1.95.0",
    "sky_rs_build_profile": "release",
}


def comparison(
    function: str,
    outcome: GateOutcome,
    ratio: float = 1.0,
    *,
    impl: Impl = Impl.PYTHON,
    workload: str = "w",
    detectable: float | None = 0.064,
    presence: str = "both",
) -> GateComparison:
    return GateComparison(
        function=function, impl=impl, workload=workload, metric="time", change_ratio=ratio,
        ci_low=ratio * 0.98, ci_high=ratio * 1.02, p_value_adjusted=0.01, outcome=outcome, detail="d",
        base_median=1000.0, candidate_median=1000.0 * ratio, detectable_change=detectable, presence=presence,
    )  # fmt: skip


def report(*comparisons: GateComparison, **fields: object) -> GateReport:
    base = GateReport(mode="against", base="abc", candidate="def", comparisons=comparisons)
    return replace(base, environment=ENVIRONMENT, **fields)  # type: ignore[arg-type]


def test_the_headline_names_each_regression_with_its_change_and_interval() -> None:
    gate = report(
        comparison("format_float", GateOutcome.REGRESSION, 1.112, workload="mixed-p0"),
        comparison("truncate_long_string", GateOutcome.REGRESSION, 1.05, impl=Impl.RUST),
        comparison("base36_encode", GateOutcome.PASS, 1.01),
    )
    assert headline(gate) == (
        "2 regressions: format_float (Python) mixed-p0 +11.2% [+9.0%, +13.4%], "
        "truncate_long_string (Rust) w +5.0% [+2.9%, +7.1%]"
    )


def test_no_regression_says_how_many_were_compared_and_what_went_unseen() -> None:
    gate = report(*(comparison(f"f{i}", GateOutcome.PASS, 1.0, detectable=0.05 + i / 100) for i in range(3)))
    assert headline(gate) == "No regression in 3 comparisons; nothing slower than +7.0% went unseen"
    text = render_summary(gate, limit_bytes=JOB_SUMMARY_LIMIT_BYTES)
    assert "## Passed" in text and "could have seen" in text
    assert "| f2 (Python) w | +0.0% | [-2.0%, +2.0%] | +7.0% |" in text  # why not significant, per row


def test_the_headline_limit_is_the_times_not_a_counts_absolute_floor() -> None:
    # A 40-byte allocation must grow by 256 B (+640%) to fail; "nothing slower than" is about time.
    memory = replace(comparison("f", GateOutcome.PASS, detectable=6.4), metric="alloc_bytes")
    gate = report(comparison("g", GateOutcome.PASS, detectable=0.05), memory)
    assert headline(gate) == "No regression in 2 comparisons; nothing slower than +5.0% went unseen"


def test_every_row_of_the_summary_says_what_it_could_see() -> None:
    gate = report(
        comparison("slow", GateOutcome.REGRESSION, 1.2, detectable=0.071),
        comparison("fast", GateOutcome.IMPROVEMENT, 0.8, detectable=None),
    )
    text = render_summary(gate, limit_bytes=JOB_SUMMARY_LIMIT_BYTES)
    assert "| comparison | base | head | change | interval | p (adj.) | could see | verdict |" in text
    assert (
        "| slow (Python) w | 1 µs | 1.2 µs | +20.0% | [+17.6%, +22.4%] | 0.01 | +7.1% | **regression** |"
        in text
    )
    assert "| 0.01 | - | improvement |" in text


def test_counts_keep_new_and_dropped_apart() -> None:
    counts = count(
        [
            comparison("a", GateOutcome.REGRESSION, 1.2),
            comparison("b", GateOutcome.IMPROVEMENT, 0.8),
            comparison("c", GateOutcome.PASS),
            comparison("d", GateOutcome.CANNOT_JUDGE, presence="new"),
            comparison("e", GateOutcome.CANNOT_JUDGE, presence="dropped"),
            comparison("f", GateOutcome.CANNOT_JUDGE),
        ]
    )
    assert counts.line() == ("1 regressions, 1 improvements, 1 unchanged, 1 new, 1 dropped, 1 cannot judge")


def test_the_table_of_what_matters_shows_base_and_head_regressions_first() -> None:
    text = render_summary(
        report(comparison("b", GateOutcome.IMPROVEMENT, 0.8), comparison("a", GateOutcome.REGRESSION, 1.2)),
        limit_bytes=JOB_SUMMARY_LIMIT_BYTES,
    )
    assert text.index("## Regressions") < text.index("## Improvements")
    row = "| a (Python) w | 1 µs | 1.2 µs | +20.0% | [+17.6%, +22.4%] | 0.01 | +6.4% | **regression** |"
    assert row in text


def test_a_banner_when_base_and_head_were_measured_differently() -> None:
    same = report(comparison("a", GateOutcome.PASS), base_environment=ENVIRONMENT)
    assert "measured differently" not in render_summary(same, limit_bytes=COMMENT_LIMIT_BYTES)
    other = {**ENVIRONMENT, "rustc_version": "rustc 1.90.0", "machine_fingerprint": "elsewhere"}
    text = render_summary(
        report(comparison("a", GateOutcome.PASS), base_environment=other), limit_bytes=10**6
    )
    assert "> Base and head were measured differently: machine_fingerprint: base `elsewhere`" in text
    assert "rustc_version: base `rustc 1.90.0`, head `rustc 1.95.0`" in text
    assert "Measured on Test CPU (2 cores), `x86_64-test`" in text


@pytest.fixture(scope="module")
def suite_of_2000() -> GateReport:
    regressions = [
        comparison(f"slow_{i:03d}", GateOutcome.REGRESSION, 1.1 + i / 1000, workload="x" * 40)
        for i in range(40)
    ]
    passes = [comparison(f"fine_{i:04d}", GateOutcome.PASS, 1.0, workload="y" * 40) for i in range(1960)]
    return report(*passes, *regressions)


def test_the_comment_and_the_job_summary_keep_their_size_and_every_regression(
    suite_of_2000: GateReport,
) -> None:
    files = summaries(suite_of_2000)
    comment, job = files["gate-comment.md"], files["gate-summary.md"]
    assert comment.startswith(COMMENT_MARKER)
    assert len(comment.encode()) <= COMMENT_LIMIT_BYTES < len(job.encode()) <= JOB_SUMMARY_LIMIT_BYTES
    for text in (comment, job):
        for i in range(40):
            assert f"slow_{i:03d} (Python)" in text  # no regression is ever the part that is cut
    assert "more rows are not shown here (size limit)" in comment and "`bench-gate` artifact" in comment
    assert "more rows are not shown" not in job  # 2,000 rows fit in 1 MiB


def test_even_regressions_alone_beyond_the_limit_are_cut_last_and_said_to_be() -> None:
    many = report(*(comparison(f"r{i}", GateOutcome.REGRESSION, 1.2, workload="z" * 200) for i in range(600)))
    text = render_summary(many, limit_bytes=COMMENT_LIMIT_BYTES)
    assert len(text.encode()) <= COMMENT_LIMIT_BYTES
    assert text.splitlines()[0].startswith("## Regression gate: 600 regressions:")
    assert "more rows are not shown here" in text
