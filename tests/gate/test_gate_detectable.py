"""What a pass rules out: each timing comparison's medians and the smallest slowdown it could have caught."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from harness.gate.compare import GatePolicy, PairedRounds, detectable_slowdown, judge_deterministic
from harness.gate.outcome import GateReport
from harness.gate.outputs import format_table, write_outputs
from harness.gate.two_stage import judge_two_stage
from harness.results import GateComparison, GateOutcome, Impl


def test_quiet_rounds_can_see_down_to_the_minimum_effect() -> None:
    assert detectable_slowdown(np.zeros(20), threshold=0.05, alpha=0.05, rounds=60) == pytest.approx(0.05)


def test_noisier_or_fewer_rounds_see_less() -> None:
    rng = np.random.default_rng(1)
    noisy = rng.normal(0, 0.05, 40)
    quiet = noisy / 5
    assert detectable_slowdown(noisy, threshold=0.05, alpha=0.05, rounds=30) > detectable_slowdown(
        quiet, threshold=0.05, alpha=0.05, rounds=30
    )
    assert detectable_slowdown(noisy, threshold=0.05, alpha=0.05, rounds=10) > detectable_slowdown(
        noisy, threshold=0.05, alpha=0.05, rounds=90
    )


def test_the_figure_is_the_normal_approximation_it_says() -> None:
    # sigma = 0.1 exactly: a MAD of 0.1 / 1.4826 around a median of 0.
    mad = 0.1 / 1.4826
    logs = np.array([-mad, -mad, 0.0, mad, mad])
    expected_log = (1.959964 + 1.644854) * 0.1 / math.sqrt(30 * 3 / math.pi)
    assert detectable_slowdown(logs, threshold=0.0, alpha=0.05, rounds=30) == pytest.approx(
        math.expm1(expected_log), rel=1e-4
    )


def test_every_judged_comparison_carries_its_medians_and_what_it_could_see() -> None:
    rng = np.random.default_rng(3)
    base = tuple(float(v) for v in 1_000 * np.exp(rng.normal(0, 0.01, 20)))
    candidate = tuple(float(v) for v in 1_000 * np.exp(rng.normal(0, 0.01, 20)))
    rounds = PairedRounds("f", Impl.RUST, "w", base, candidate)

    def no_remeasure(suspects: object, look: object) -> list[object]:
        raise AssertionError("an A/A pair must not be a suspect")

    [verdict], _ = judge_two_stage([rounds], no_remeasure, GatePolicy())  # type: ignore[arg-type]
    assert verdict.outcome is GateOutcome.PASS
    assert verdict.base_median == pytest.approx(float(np.median(base)))
    assert verdict.candidate_median == pytest.approx(float(np.median(candidate)))
    assert verdict.detectable_change is not None
    assert 0.05 <= verdict.detectable_change < 0.10  # 1% noise: the 5% minimum effect, a little more


def _alternating_rounds(count: int = 30) -> PairedRounds:
    """Base 1000 ns every round, the candidate e^+0.01 and e^-0.01 times it in turn: per-round log ratios
    of +-0.01, median 0, MAD 0.01, so sigma = 1.4826 x 0.01 exactly."""
    candidate = tuple(1_000 * math.exp(0.01 if i % 2 else -0.01) for i in range(count))
    return PairedRounds("format_float", Impl.PYTHON, "mixed-p0", (1_000.0,) * count, candidate)


def _passed_verdict(policy: GatePolicy) -> GateComparison:
    def no_remeasure(suspects: object, look: object) -> list[object]:
        raise AssertionError("a symmetric A/A pair must not be a suspect")

    [verdict], _ = judge_two_stage([_alternating_rounds()], no_remeasure, policy)  # type: ignore[arg-type]
    assert verdict.outcome is GateOutcome.PASS
    return verdict


# By hand for the rounds above: sigma = 0.014826; a screened pass is decided by stage 2's 90 fresh rounds
# (3 x 30). Test: (1.959964 + 1.644854) x 0.014826 / sqrt(90 x 3/pi) = 0.0057650. Median: log(1.05) +
# 1.644854 x 1.253314 x 0.014826 / sqrt(90) = 0.0487902 + 0.0032218 = 0.0520120. The larger, as a ratio - 1:
HAND_MDE_MIN_EFFECT_5 = math.expm1(0.0520120)  # +5.34%: the 5% minimum effect dominates
HAND_MDE_NO_MIN_EFFECT = math.expm1(0.0057650)  # +0.58%: with no minimum effect, the test's power does


@pytest.mark.parametrize(
    ("min_effect", "expected"), [(0.05, HAND_MDE_MIN_EFFECT_5), (0.0, HAND_MDE_NO_MIN_EFFECT)]
)
def test_a_comparison_carries_the_mde_computed_by_hand(min_effect: float, expected: float) -> None:
    verdict = _passed_verdict(GatePolicy(min_effect=min_effect))
    assert verdict.detectable_change == pytest.approx(expected, rel=1e-4)


def _cell(table: str, column: str, row_start: str) -> str:
    """One cell of the terminal table, found by its column's header."""
    lines = table.splitlines()
    start = lines[0].index(column)
    [row] = [line for line in lines[2:] if line.startswith(row_start)]
    return row[start:].split()[0]


def test_table_json_and_summary_show_the_same_figure(tmp_path: Path) -> None:
    verdict = _passed_verdict(GatePolicy())
    report = GateReport(mode="against", base="abc", candidate="def", comparisons=(verdict,))

    assert _cell(format_table(report), "could see", "format_float ") == "+5.3%"
    write_outputs(report, tmp_path)
    [stored] = json.loads((tmp_path / "gate-comparisons.json").read_text())["comparisons"]
    assert stored["detectable_change"] == pytest.approx(HAND_MDE_MIN_EFFECT_5, rel=1e-4)
    summary = (tmp_path / "gate-summary.md").read_text()
    assert "| format_float (Python) mixed-p0 | +0.0% | [" in summary
    assert summary.splitlines()[0].endswith("nothing slower than +5.3% went unseen")
    [passed_row] = [line for line in summary.splitlines() if line.startswith("| format_float (Python)")]
    assert passed_row.endswith("| +5.3% |")


def test_a_count_can_see_its_threshold_or_its_absolute_floor_whichever_is_larger() -> None:
    def judged(base_bytes: float) -> GateComparison:
        return judge_deterministic(
            function="f", impl=Impl.RUST, workload="w", metric="alloc_bytes", base_value=base_bytes,
            candidate_value=base_bytes, relative_threshold=0.10, absolute_floor=256.0,
        )  # fmt: skip

    assert judged(10_000.0).detectable_change == pytest.approx(0.10)  # 10% of 10,000 B is over 256 B
    assert judged(40.0).detectable_change == pytest.approx(256 / 40)  # +256 B on 40 B is +640%
    assert judged(0.0).detectable_change is None  # any growth from nothing is new, not a ratio
