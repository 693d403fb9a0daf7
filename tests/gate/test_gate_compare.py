"""The gate's statistics on synthetic rounds (seeded, no timing)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from harness.gate.compare import (
    GatePolicy,
    PairedRounds,
    adjust_p_values,
    judge_deterministic,
    judge_speedup_floor,
)
from harness.gate.looks import Look
from harness.gate.two_stage import confirm_rounds, judge_two_stage
from harness.results import GateComparison, GateOutcome, Impl

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


def _judge(
    rng: np.random.Generator, shifts: dict[str, float], *, noise: float, rounds: int = ROUNDS
) -> list[GateComparison]:
    """The gate's timing verdicts, stage 2 drawing fresh rounds of the same builds (same shift and noise)."""

    def remeasure(suspects: Sequence[PairedRounds], look: Look) -> list[PairedRounds | str]:
        fresh_rounds = confirm_rounds(FAST_POLICY, rounds)
        return [
            replace(_rounds(rng, shift=shifts[s.function], noise=noise, rounds=fresh_rounds, name=s.function),
                    noise_floor=s.noise_floor)
            for s in suspects
        ]  # fmt: skip

    screen = [
        _rounds(rng, shift=shift, noise=noise, rounds=rounds, name=name) for name, shift in shifts.items()
    ]
    return judge_two_stage(screen, remeasure, FAST_POLICY)[0]


def test_clear_ten_percent_slowdown_is_a_regression() -> None:
    rng = np.random.default_rng(1)
    verdicts = _judge(rng, {"slow": 0.10} | {f"same{i}": 0.0 for i in range(29)}, noise=0.02)
    assert verdicts[0].outcome is GateOutcome.REGRESSION
    assert verdicts[0].ci_low > 1.0
    assert math.isclose(verdicts[0].change_ratio, 1.10, rel_tol=0.03)
    assert all(v.outcome is GateOutcome.PASS for v in verdicts[1:])


def test_clear_speedup_is_an_improvement_not_a_regression() -> None:
    rng = np.random.default_rng(2)
    (verdict,) = _judge(rng, {"f": -0.2}, noise=0.02)
    assert verdict.outcome is GateOutcome.IMPROVEMENT


def test_calibrated_noise_floor_raises_the_minimum_effect() -> None:
    rng = np.random.default_rng(4)
    comparison = _rounds(rng, shift=0.10, noise=0.005)
    noisy = replace(comparison, noise_floor=0.15)

    def remeasure(suspects: Sequence[PairedRounds], look: Look) -> list[PairedRounds | str]:
        return [
            replace(_rounds(rng, shift=0.10, noise=0.005, rounds=42), noise_floor=s.noise_floor)
            for s in suspects
        ]

    assert judge_two_stage([comparison], remeasure, FAST_POLICY)[0][0].outcome is GateOutcome.REGRESSION
    (verdict,), decision = judge_two_stage([noisy], remeasure, FAST_POLICY)
    assert verdict.outcome is GateOutcome.PASS
    assert decision.suspects == ()  # +10% measured to 0.5% cannot reach a 15% floor: not worth stage 2


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
    (verdict,) = _judge(rng, {"f": 0.5}, noise=0.01, rounds=4)
    assert verdict.outcome is GateOutcome.CANNOT_JUDGE


def test_identical_rounds_pass_with_p_one() -> None:
    values = tuple(float(v) for v in range(100, 100 + ROUNDS))
    comparison = PairedRounds("f", Impl.RUST, "w", values, values)

    def nothing(suspects: Sequence[PairedRounds], look: Look) -> list[PairedRounds | str]:
        raise AssertionError("stage 2 ran without suspects")

    (verdict,), decision = judge_two_stage([comparison], nothing, FAST_POLICY)
    assert decision.suspects == ()
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
