"""The gate's statistics on synthetic rounds (seeded, no timing)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.gate.compare import (
    GatePolicy,
    PairedRounds,
    adjust_p_values,
    judge_deterministic,
    judge_rounds,
    judge_speedup_floor,
    smallest_attainable_p_value,
)
from harness.results import GateOutcome, Impl

ROUNDS = 15
FAST_POLICY = GatePolicy(bootstrap_resamples=200)


def _rounds(
    rng: np.random.Generator, *, shift: float, noise: float, rounds: int = ROUNDS, name: str = "f"
) -> PairedRounds:
    """Base ~ 1000 ns with a shared per-round drift; candidate = base * (1 + shift) with its own noise."""
    drift = np.exp(rng.normal(0, 0.2, rounds))  # the machine's load: common to both sides of a round
    base = 1000 * drift * np.exp(rng.normal(0, noise, rounds))
    candidate = 1000 * (1 + shift) * drift * np.exp(rng.normal(0, noise, rounds))
    return PairedRounds(
        function=name,
        impl=Impl.PYTHON,
        workload="w",
        base_values=tuple(base),
        candidate_values=tuple(candidate),
    )


def test_clear_ten_percent_slowdown_is_a_regression() -> None:
    rng = np.random.default_rng(1)
    suite = [_rounds(rng, shift=0.10, noise=0.02, name="slow")] + [
        _rounds(rng, shift=0.0, noise=0.02, name=f"same{i}") for i in range(29)
    ]
    verdicts = judge_rounds(suite, FAST_POLICY)
    assert verdicts[0].outcome is GateOutcome.REGRESSION
    assert verdicts[0].ci_low > 1.0
    assert math.isclose(verdicts[0].change_ratio, 1.10, rel_tol=0.03)
    assert all(v.outcome is GateOutcome.PASS for v in verdicts[1:])


def test_clear_speedup_is_an_improvement_not_a_regression() -> None:
    rng = np.random.default_rng(2)
    (verdict,) = judge_rounds([_rounds(rng, shift=-0.2, noise=0.02)], FAST_POLICY)
    assert verdict.outcome is GateOutcome.IMPROVEMENT


def test_shift_below_the_minimum_effect_never_fails() -> None:
    rng = np.random.default_rng(3)
    # 3% shift, tiny noise: overwhelmingly significant, but below the 5% minimum effect.
    for _ in range(50):
        (verdict,) = judge_rounds([_rounds(rng, shift=0.03, noise=0.002)], FAST_POLICY)
        assert verdict.p_value_adjusted is not None and verdict.p_value_adjusted < 0.05
        assert verdict.outcome is GateOutcome.PASS


def test_calibrated_noise_floor_raises_the_minimum_effect() -> None:
    rng = np.random.default_rng(4)
    comparison = _rounds(rng, shift=0.10, noise=0.005)
    noisy = PairedRounds(**{**comparison.__dict__, "noise_floor": 0.15})
    assert judge_rounds([comparison], FAST_POLICY)[0].outcome is GateOutcome.REGRESSION
    assert judge_rounds([noisy], FAST_POLICY)[0].outcome is GateOutcome.PASS


def _suite_false_alarm_rate(correction: str, suites: int, comparisons: int) -> float:
    """Share of pure-noise suites with at least one regression, with no minimum effect to hide behind."""
    rng = np.random.default_rng(20260401)
    policy = GatePolicy(min_effect=0.0, bootstrap_resamples=100, correction=correction)  # type: ignore[arg-type]
    alarmed = 0
    for _ in range(suites):
        suite = [_rounds(rng, shift=0.0, noise=0.05, name=f"f{i}") for i in range(comparisons)]
        if any(v.outcome is GateOutcome.REGRESSION for v in judge_rounds(suite, policy)):
            alarmed += 1
    return alarmed / suites


@pytest.mark.slow
def test_pure_noise_rarely_alarms_after_correction() -> None:
    # 1000 whole suites of 24 comparisons each. Holm bounds the family-wise rate by alpha = 5%.
    assert _suite_false_alarm_rate("holm", suites=1000, comparisons=24) < 0.05


def test_pure_noise_without_correction_alarms_often() -> None:
    # The control: the same noise without correction alarms in far more than 5% of suites, so the
    # corrected test above is not passing by accident.
    assert _suite_false_alarm_rate("none", suites=100, comparisons=24) > 0.2


def test_holm_adjustment_matches_hand_computation() -> None:
    # Sorted p: 0.01 (x3) = 0.03, 0.02 (x2) = 0.04, 0.04 (x1) = 0.04.
    assert adjust_p_values([0.04, 0.01, 0.02], "holm") == pytest.approx([0.04, 0.03, 0.04])


def test_bh_adjustment_is_less_strict_than_holm() -> None:
    p_values = [0.001, 0.01, 0.02, 0.03, 0.04]
    holm = adjust_p_values(p_values, "holm")
    bh = adjust_p_values(p_values, "bh")
    assert all(b <= h for b, h in zip(bh, holm, strict=True))
    assert bh[-1] == pytest.approx(0.04)


def test_too_few_rounds_cannot_judge() -> None:
    rng = np.random.default_rng(5)
    (verdict,) = judge_rounds([_rounds(rng, shift=0.5, noise=0.01, rounds=4)], FAST_POLICY)
    assert verdict.outcome is GateOutcome.CANNOT_JUDGE


def test_rounds_too_few_for_the_suite_size_cannot_judge() -> None:
    # 8 rounds: smallest p = 2/256 ~ 0.0078; times 40 comparisons under Holm > 0.05: the gate is blind.
    assert smallest_attainable_p_value(8) == pytest.approx(2 / 256)
    rng = np.random.default_rng(6)
    suite = [_rounds(rng, shift=0.5, noise=0.01, rounds=8, name=f"f{i}") for i in range(40)]
    assert {v.outcome for v in judge_rounds(suite, FAST_POLICY)} == {GateOutcome.CANNOT_JUDGE}


def test_identical_rounds_pass_with_p_one() -> None:
    values = tuple(float(v) for v in range(100, 100 + ROUNDS))
    comparison = PairedRounds("f", Impl.RUST, "w", values, values)
    (verdict,) = judge_rounds([comparison], FAST_POLICY)
    assert verdict.outcome is GateOutcome.PASS
    assert verdict.p_value_adjusted == 1.0
    assert verdict.change_ratio == 1.0


def test_unpaired_or_bad_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="paired"):
        PairedRounds("f", Impl.RUST, "w", (1.0, 2.0), (1.0,))
    with pytest.raises(ValueError, match="> 0"):
        PairedRounds("f", Impl.RUST, "w", (1.0, 0.0), (1.0, 1.0))
    with pytest.raises(ValueError, match="alpha"):
        GatePolicy(alpha=1.5)


def test_memory_growth_needs_both_relative_and_absolute_excess() -> None:
    def verdict(base: float, candidate: float) -> GateOutcome:
        return judge_deterministic(
            function="f", impl=Impl.RUST, workload="w", metric="alloc_bytes",
            base_value=base, candidate_value=candidate, relative_threshold=0.10, absolute_floor=256,
        ).outcome  # fmt: skip

    assert verdict(1000, 2000) is GateOutcome.REGRESSION
    assert verdict(40, 80) is GateOutcome.PASS  # +100% but only 40 bytes
    assert verdict(100_000, 105_000) is GateOutcome.PASS  # +5000 bytes but only +5%
    assert verdict(0, 1000) is GateOutcome.REGRESSION
    assert verdict(0, 0) is GateOutcome.PASS
    assert verdict(2000, 1000) is GateOutcome.IMPROVEMENT


def test_instruction_change_of_two_percent_fails_a_one_percent_threshold() -> None:
    def verdict(candidate: float) -> GateOutcome:
        return judge_deterministic(
            function="f", impl=Impl.PYTHON, workload="w", metric="instructions",
            base_value=33_538.0, candidate_value=candidate, relative_threshold=0.01,
        ).outcome  # fmt: skip

    assert verdict(33_538.0 * 1.02) is GateOutcome.REGRESSION
    assert verdict(33_538.0) is GateOutcome.PASS


def test_rust_slower_than_its_floor_fails_only_when_the_whole_interval_is_below() -> None:
    rng = np.random.default_rng(7)
    python = 1000 * np.exp(rng.normal(0, 0.02, ROUNDS))
    slow_rust = python / 0.7  # speedup 0.7x
    near_rust = python / 0.99 * np.exp(rng.normal(0, 0.05, ROUNDS))  # ~1x, noisy: interval straddles 1

    def outcome(rust: np.ndarray) -> GateOutcome:
        return judge_speedup_floor(
            function="f", workload="w", rust_values_ns=tuple(rust), python_values_ns=tuple(python),
            floor=1.0, policy=FAST_POLICY,
        ).outcome  # fmt: skip

    assert outcome(slow_rust) is GateOutcome.REGRESSION
    assert outcome(near_rust) is GateOutcome.PASS
    assert outcome(python / 5) is GateOutcome.PASS
