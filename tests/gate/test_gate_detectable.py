"""What a pass rules out: each timing comparison's medians and the smallest slowdown it could have caught."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.gate.compare import GatePolicy, PairedRounds, detectable_slowdown
from harness.gate.two_stage import judge_two_stage
from harness.results import GateOutcome, Impl


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

    def no_remeasure(suspects: object) -> list[object]:
        raise AssertionError("an A/A pair must not be a suspect")

    [verdict], _ = judge_two_stage([rounds], no_remeasure, GatePolicy())  # type: ignore[arg-type]
    assert verdict.outcome is GateOutcome.PASS
    assert verdict.base_median == pytest.approx(float(np.median(base)))
    assert verdict.candidate_median == pytest.approx(float(np.median(candidate)))
    assert verdict.detectable_change is not None
    assert 0.05 <= verdict.detectable_change < 0.10  # 1% noise: the 5% minimum effect, a little more
