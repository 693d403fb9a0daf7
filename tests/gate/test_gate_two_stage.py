"""The two-stage timing verdict on simulated whole suites (seeded, no timing).

Stage 2's measurement is injected: the simulation draws fresh rounds from the same model, as a fresh
interleaved measurement of the same two builds would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from harness.gate.compare import GatePolicy, PairedRounds
from harness.gate.config import ConfigError, load_config, parse_config
from harness.gate.gate import unconfirmed_reason
from harness.gate.looks import Look, look_rounds
from harness.gate.outcome import CannotJudgeCode
from harness.gate.two_stage import (
    NOT_CLEARED,
    UNCONFIRMED,
    Remeasure,
    confirm_rounds,
    decide_two_stage,
    judge_two_stage,
    median_upper_bound,
    unresolved,
)
from harness.results import GateOutcome, Impl

SCREEN_ROUNDS = 14  # the quick plan's
COMPARISONS = 120  # about what the quick suite compares (pairs x sides x workloads)
POLICY = GatePolicy()  # the shipped defaults: alpha 5%, minimum effect 5%, screen 0.20, 24 suspects
# The simulations: the same rules with fewer bootstrap resamples (they only refine stage 2's interval).
SIMULATION_POLICY = replace(POLICY, bootstrap_resamples=300)
CONFIRM_ROUNDS = confirm_rounds(POLICY, SCREEN_ROUNDS)
FIRST_LOOK = Look(0)


class Suite:
    """A simulated suite: per comparison a true shift and a per-round noise level of the log ratio.

    Each round's value is ~1000 ns times a drift shared by both builds (the machine's load, cancelled by the
    ratio), times each build's own noise, with occasional slow outliers (3% of values, up to ~2x).
    """

    def __init__(
        self,
        rng: np.random.Generator,
        shifts: Sequence[float],
        spreads: Sequence[float],
        outlier_rate: float = 0.03,
    ) -> None:
        self.rng = rng
        self.outlier_rate = outlier_rate
        self.shifts = {f"f{i}": shift for i, shift in enumerate(shifts)}
        self.spreads = {f"f{i}": spread for i, spread in enumerate(spreads)}

    def rounds(self, names: Sequence[str], count: int) -> list[PairedRounds]:
        """``count`` fresh rounds of each named comparison, drawn for all of them at once."""
        shape = (len(names), count)
        spreads = np.array([[self.spreads[name]] for name in names]) / np.sqrt(2)  # per build
        shifts = np.array([[self.shifts[name]] for name in names])
        drift = np.exp(self.rng.normal(0, 0.2, shape))
        base = 1000 * drift * np.exp(self.rng.normal(0, 1, shape) * spreads + self._outliers(shape))
        candidate = (
            1000
            * (1 + shifts)
            * drift
            * np.exp(self.rng.normal(0, 1, shape) * spreads + self._outliers(shape))
        )
        return [
            PairedRounds(name, Impl.PYTHON, "w", tuple(base_row), tuple(candidate_row))
            for name, base_row, candidate_row in zip(names, base, candidate, strict=True)
        ]

    def _outliers(self, shape: tuple[int, int]) -> np.ndarray:
        spikes: np.ndarray = np.abs(self.rng.normal(0, 0.4, shape)) * (
            self.rng.random(shape) < self.outlier_rate
        )
        return spikes

    def screen(self) -> list[PairedRounds]:
        return self.rounds(list(self.shifts), SCREEN_ROUNDS)

    def remeasure(
        self, suspects: Sequence[PairedRounds], look: Look = FIRST_LOOK
    ) -> list[PairedRounds | str]:
        """Fresh, independent rounds of each suspect: what stage 2's new worker processes give."""
        rounds = look_rounds(CONFIRM_ROUNDS, look.index)
        return list(self.rounds([suspect.function for suspect in suspects], rounds))


def _null_suite(rng: np.random.Generator) -> Suite:
    return Suite(rng, [0.0] * COMPARISONS, list(rng.uniform(0.01, 0.08, COMPARISONS)))


@pytest.mark.slow
def test_false_alarm_rate_over_whole_null_suites_is_at_most_alpha() -> None:
    rng = np.random.default_rng(20261128)
    suites = 2000
    alarms = suspects = 0
    for _ in range(suites):
        suite = _null_suite(rng)
        decision = decide_two_stage(suite.screen(), suite.remeasure, SIMULATION_POLICY)
        alarms += bool(decision.regressions)
        suspects += len(decision.suspects)
    assert alarms / suites <= POLICY.alpha
    # The screen is liberal (up to 10% of comparisons, one-sided), yet well within stage 2's budget.
    assert 1 <= suspects / suites <= POLICY.max_suspects / 2


@pytest.mark.slow
def test_deciding_on_the_screens_own_rounds_would_cry_wolf() -> None:
    """Why stage 2 needs fresh data: re-using the rounds that chose the suspects inflates false alarms."""
    rng = np.random.default_rng(7)
    suites = 400
    alarms = 0
    for _ in range(suites):
        suite = _null_suite(rng)
        screen = suite.screen()
        by_name = {comparison.function: comparison for comparison in screen}

        def same_rounds(
            suspects: Sequence[PairedRounds], look: Look, by_name: dict[str, PairedRounds] = by_name
        ) -> list[PairedRounds | str]:
            return [by_name[suspect.function] for suspect in suspects]

        alarms += bool(decide_two_stage(screen, same_rounds, SIMULATION_POLICY).regressions)
    assert alarms / suites > POLICY.alpha  # about 9%, against at most 5% with fresh rounds


@pytest.mark.slow
@pytest.mark.parametrize("spread", [0.05, 0.08])
def test_ten_percent_slowdown_with_realistic_noise_is_detected_in_95_percent_of_suites(spread: float) -> None:
    rng = np.random.default_rng(int(spread * 1000))
    suites = 1000
    detected = elsewhere = 0
    for _ in range(suites):
        shifts = [0.10] + [0.0] * (COMPARISONS - 1)
        spreads = [spread, *rng.uniform(0.01, 0.08, COMPARISONS - 1)]
        suite = Suite(rng, shifts, spreads)
        decision = decide_two_stage(suite.screen(), suite.remeasure, SIMULATION_POLICY)
        detected += 0 in decision.regressions
        elsewhere += any(index != 0 for index in decision.regressions)
    assert detected / suites >= 0.95
    assert elsewhere / suites <= POLICY.alpha


@pytest.mark.parametrize("shift", [0.02, 0.04])
def test_shifts_below_the_minimum_effect_never_fail(shift: float) -> None:
    """Precisely measured (1% noise), so the screen and stage 2 find them significant; still no failure."""
    rng = np.random.default_rng(int(shift * 100))
    for _ in range(100):
        suite = Suite(rng, [shift] * 10, [0.01] * 10)
        verdicts, _ = judge_two_stage(suite.screen(), suite.remeasure, SIMULATION_POLICY)
        assert all(v.outcome is not GateOutcome.REGRESSION for v in verdicts)


def test_the_detail_says_which_stage_decided() -> None:
    rng = np.random.default_rng(3)
    suite = Suite(rng, [0.25, 0.0, -0.3], [0.02, 0.02, 0.02])
    verdicts, decision = judge_two_stage(suite.screen(), suite.remeasure, POLICY)
    slow, same, faster = verdicts
    assert decision.suspects == (0,)
    assert slow.outcome is GateOutcome.REGRESSION
    assert slow.detail.startswith("stage 2 (confirm) decided")
    assert f"{CONFIRM_ROUNDS} fresh rounds" in slow.detail
    assert same.outcome is GateOutcome.PASS
    assert same.detail.startswith("stage 1 (screen) decided: not a suspect")
    assert faster.outcome is GateOutcome.IMPROVEMENT  # improvements never go to stage 2, never fail
    assert faster.detail.startswith("stage 1 (screen)")


def test_a_clear_median_shift_with_a_few_wild_rounds_is_still_a_suspect() -> None:
    """Seen on this machine: +12% median, interval above 1, but signed-rank p 0.43 from 4 slow base rounds."""
    log_ratios = [0.12] * 10 + [-0.5] * 4
    base = tuple(1000.0 * (1 + i / 100) for i in range(SCREEN_ROUNDS))
    candidate = tuple(b * float(np.exp(r)) for b, r in zip(base, log_ratios, strict=True))
    screen = [PairedRounds("f0", Impl.PYTHON, "w", base, candidate)]
    suite = Suite(np.random.default_rng(10), [0.12], [0.02])
    decision = decide_two_stage(screen, suite.remeasure, POLICY)
    assert decision.screen_p_values[0] is not None and decision.screen_p_values[0] > POLICY.screen_level
    assert decision.suspects == (0,)
    assert decision.regressions == (0,)


def test_stage_two_that_does_not_see_the_change_again_passes() -> None:
    """A suspect is only a suspect: stage 2's data alone decide (here the fresh rounds show no change)."""
    rng = np.random.default_rng(4)
    suite = Suite(rng, [0.25], [0.02])
    screen = suite.screen()
    suite.shifts["f0"] = 0.0  # the slowdown was a fluke of the screen's rounds
    verdicts, decision = judge_two_stage(screen, suite.remeasure, POLICY)
    assert decision.suspects == (0,)
    assert verdicts[0].outcome is GateOutcome.PASS
    assert verdicts[0].detail.startswith("stage 2 (confirm) decided: not confirmed")


def test_stage_two_too_noisy_to_clear_the_suspect_cannot_judge_it() -> None:
    """A suspect whose fresh rounds are so noisy that a 10% slowdown is not ruled out is not a pass."""
    rng = np.random.default_rng(4)
    suite = Suite(rng, [0.25], [0.02])
    screen = suite.screen()
    suite.shifts["f0"], suite.spreads["f0"] = 0.0, 0.6  # stage 2 runs on a machine gone wild
    verdicts, decision = judge_two_stage(screen, suite.remeasure, POLICY)
    assert decision.suspects == (0,)
    assert verdicts[0].ci_high > 1 + POLICY.clear_effect
    assert verdicts[0].outcome is GateOutcome.CANNOT_JUDGE
    assert verdicts[0].detail.startswith(NOT_CLEARED)
    assert unresolved(verdicts) == verdicts
    reason = unconfirmed_reason(verdicts, POLICY)
    assert reason is not None and reason.code is CannotJudgeCode.UNCONFIRMED_SUSPECTS
    assert "too noisy in stage 2" in reason.detail
    # The rule is a setting: with clear_effect 100%, the same rounds pass.
    lenient = replace(POLICY, clear_effect=1.0)
    suite.rng = np.random.default_rng(4)
    suite.shifts["f0"], suite.spreads["f0"] = 0.25, 0.02
    screen = suite.screen()
    suite.shifts["f0"], suite.spreads["f0"] = 0.0, 0.6
    (verdict,), _ = judge_two_stage(screen, suite.remeasure, lenient)
    assert verdict.outcome is GateOutcome.PASS


def test_budget_confirms_the_most_extreme_suspects_and_cannot_judge_the_rest() -> None:
    rng = np.random.default_rng(5)
    # Suspects of decreasing size: the screen orders by p (all rounds agree: tied), then by the median.
    shifts = [0.10 + 0.02 * i for i in range(POLICY.max_suspects + 3)]
    suite = Suite(rng, shifts, [0.005] * len(shifts), outlier_rate=0.0)
    asked: list[str] = []

    def remeasure(suspects: Sequence[PairedRounds], look: Look) -> list[PairedRounds | str]:
        asked.extend(s.function for s in suspects)
        return suite.remeasure(suspects, look)

    verdicts, decision = judge_two_stage(suite.screen(), remeasure, POLICY)
    assert len(decision.suspects) == len(shifts)
    largest_first = [f"f{i}" for i in reversed(range(len(shifts)))]
    assert asked == largest_first[: POLICY.max_suspects]
    unconfirmed = [v for v in verdicts if v.outcome is GateOutcome.CANNOT_JUDGE]
    assert [v.function for v in unconfirmed] == ["f0", "f1", "f2"]
    assert all(v.detail.startswith(UNCONFIRMED) for v in unconfirmed)
    # The gate: a regression wins; without one, unconfirmed suspects make the run "cannot judge".
    reason = unconfirmed_reason(verdicts, POLICY)
    assert reason is not None and reason.detail.startswith("3 suspect(s)")
    assert (
        unconfirmed_reason([v for v in verdicts if v.outcome is not GateOutcome.CANNOT_JUDGE], POLICY) is None
    )


def test_a_suspect_that_cannot_be_remeasured_cannot_be_judged() -> None:
    rng = np.random.default_rng(6)
    suite = Suite(rng, [0.3], [0.01])
    failed: Remeasure = lambda suspects, look: ["candidate: worker died"] * len(suspects)  # noqa: E731
    (verdict,), _ = judge_two_stage(suite.screen(), failed, POLICY)
    assert verdict.outcome is GateOutcome.CANNOT_JUDGE
    assert "worker died" in verdict.detail
    # Built as every cannot-judge comparison is: no change, no figure of what it could see, the medians kept.
    assert (verdict.change_ratio, verdict.ci_low, verdict.ci_high) == (1.0, 1.0, 1.0)
    assert verdict.detectable_change is None
    assert verdict.base_median is not None and verdict.candidate_median is not None


def test_remeasure_must_answer_every_suspect() -> None:
    rng = np.random.default_rng(8)
    suite = Suite(rng, [0.3], [0.01])
    with pytest.raises(ValueError, match="1 suspects"):
        decide_two_stage(suite.screen(), lambda suspects, look: [], POLICY)


def test_no_suspects_means_no_stage_two() -> None:
    rng = np.random.default_rng(9)
    suite = Suite(rng, [0.0, -0.2], [0.01, 0.01])

    def never(suspects: Sequence[PairedRounds], look: Look) -> list[PairedRounds | str]:
        raise AssertionError("stage 2 ran without suspects")

    decision = decide_two_stage(suite.screen(), never, POLICY)
    assert decision.suspects == ()
    assert decision.regressions == ()


@pytest.mark.parametrize("rounds", [6, 14, 30, 42])
def test_median_upper_bound_is_the_order_statistic_interval(rounds: int) -> None:
    rng = np.random.default_rng(rounds)
    rows = rng.normal(0, 1, (5, rounds))
    expected = [stats.quantile_test(row, q=np.median(row)).confidence_interval(0.95).high for row in rows]
    np.testing.assert_allclose(median_upper_bound(rows, 0.95), expected)


def test_confirm_rounds_are_three_times_the_plan_and_at_least_thirty() -> None:
    assert confirm_rounds(POLICY, 14) == 42
    assert confirm_rounds(POLICY, 6) == 30


def test_shipped_settings_and_bad_values() -> None:
    policy = load_config().policy
    assert (policy.screen_level, policy.max_suspects) == (0.20, 24)
    assert (policy.confirm_rounds_factor, policy.confirm_min_rounds) == (3, 30)
    with pytest.raises(ConfigError, match="max_suspects"):
        parse_config({"policy": {"max_suspects": 0}})
    with pytest.raises(ConfigError, match="screen_level"):
        parse_config({"policy": {"screen_level": 1.5}})
    with pytest.raises(ConfigError, match="confirm_min_rounds"):
        parse_config({"policy": {"confirm_min_rounds": 3}})
