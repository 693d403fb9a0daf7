"""The gate's statistics: from interleaved rounds of two builds to one verdict per comparison.

Design (see docs/gate.md for the reasons):

* Each round measures the base and the candidate side by side (A B or B A, alternating), so the unit of
  evidence is the per-round ratio candidate/base. Slow drifts of the machine hit both sides of a round alike
  and cancel in the ratio.
* The test is the Wilcoxon signed-rank test on the log ratios (nonparametric: robust to the heavy right
  tail of timings on a shared machine), two-sided, exact for small samples.
* Timing verdicts come in two stages (``harness/gate/two_stage.py``): a screen of every comparison, then
  fresh rounds of the suspects, adjusted over the suspects (Holm by default: the chance of *any* false
  alarm in a run stays <= alpha; Benjamini-Hochberg on request). This module holds the shared pieces.
* A change fails only if it is significant after adjustment AND its median ratio exceeds the minimum
  effect (the default, raised per comparison by the calibrated A/A noise floor). A shift below the minimum
  effect never fails, however significant.
* Memory (allocated bytes per call) is nearly deterministic: a relative threshold plus an absolute floor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy import stats

from harness.gate.outcome import cannot_judge_comparison
from harness.results import GateComparison, GateOutcome, Impl
from harness.stats import (
    RatioInterval,
    bootstrap_log_medians,
    log_ratios,
    median_detectable_log,
    median_ratio_interval,
    percentile_interval,
    signed_rank_detectable_log,
)

Correction = Literal["holm", "bh", "none"]

# Fewer rounds than this and a median ratio says little about the machine, whatever the test says.
MIN_ROUNDS = 6


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds of the gate. Defaults are the documented ones (docs/gate.md)."""

    alpha: float = 0.05  # family-wise (Holm) or false-discovery (BH) rate over the whole suite
    min_effect: float = 0.05  # relative slowdown below which nothing fails (0.05 = 5%)
    correction: Correction = "holm"
    confidence: float = 0.95  # of the reported interval of the median ratio
    bootstrap_resamples: int = 2000
    seed: int = 20260401  # the bootstrap is seeded: the same data always gives the same report
    memory_threshold: float = 0.10  # relative growth of allocated bytes per call that fails
    memory_floor_bytes: float = 256.0  # ... only if the growth is also at least this many bytes per call
    instructions_threshold: float = 0.01  # relative growth of instructions per call that fails
    # Two stages (harness/gate/two_stage.py): the screen's raw two-sided level for a suspect (with the median
    # slower, so 10% one-sided), how many suspects stage 2 may re-measure, and how many fresh rounds it takes.
    screen_level: float = 0.20
    max_suspects: int = 24
    confirm_rounds_factor: int = 3
    confirm_min_rounds: int = 30
    # A suspect stage 2 does not confirm passes only if its interval rules out a slowdown of this size (or of
    # the minimum effect, if larger); otherwise the run cannot judge it (exit 3) rather than guess "pass".
    clear_effect: float = 0.10

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.min_effect < 0:
            raise ValueError(f"min_effect must be >= 0, got {self.min_effect}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.bootstrap_resamples < 100:
            raise ValueError(f"bootstrap_resamples must be >= 100, got {self.bootstrap_resamples}")
        if not 0 < self.screen_level < 1:
            raise ValueError(f"screen_level must be in (0, 1), got {self.screen_level}")
        if self.clear_effect < 0:
            raise ValueError(f"clear_effect must be >= 0, got {self.clear_effect}")
        if self.max_suspects < 1:
            raise ValueError(f"max_suspects must be >= 1, got {self.max_suspects}")
        if self.confirm_rounds_factor < 1 or self.confirm_min_rounds < MIN_ROUNDS:
            raise ValueError(
                f"confirm_rounds_factor must be >= 1 and confirm_min_rounds >= {MIN_ROUNDS}, got "
                f"{self.confirm_rounds_factor} and {self.confirm_min_rounds}"
            )


@dataclass(frozen=True)
class PairedRounds:
    """One comparison's raw evidence: value i of both builds was measured in the same round."""

    function: str
    impl: Impl
    workload: str
    base_values: tuple[float, ...]
    candidate_values: tuple[float, ...]
    metric: str = "time"
    noise_floor: float | None = None  # calibrated relative A/A floor for this comparison, if known

    def __post_init__(self) -> None:
        if len(self.base_values) != len(self.candidate_values):
            raise ValueError(
                f"{self.label}: {len(self.base_values)} base rounds but "
                f"{len(self.candidate_values)} candidate rounds; rounds must be paired"
            )
        values = np.asarray((*self.base_values, *self.candidate_values), dtype=float)
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"{self.label}: values must be finite and > 0")

    @property
    def label(self) -> str:
        return f"{self.function}/{self.impl}/{self.workload}/{self.metric}"


def too_few_rounds(rounds: int) -> str:
    """Why a comparison of ``rounds`` rounds cannot be judged, when they are fewer than ``MIN_ROUNDS``."""
    return f"only {rounds} rounds; at least {MIN_ROUNDS} are needed"


def cannot_judge_rounds(comparison: PairedRounds, reason: str) -> GateComparison:
    """The cannot-judge verdict of measured rounds that decide nothing (too few, or a suspect that could not
    be measured again), with the medians of what was measured and no figure of what it could see."""
    rounds = len(comparison.base_values)
    return replace(
        cannot_judge_comparison(
            comparison.function, comparison.impl, comparison.workload, comparison.metric, reason
        ),
        base_median=float(np.median(comparison.base_values)) if rounds else None,
        candidate_median=float(np.median(comparison.candidate_values)) if rounds else None,
    )


def policy_interval(logs: np.ndarray, policy: GatePolicy, seed_offset: int = 0) -> RatioInterval:
    """The median ratio of per-round log ratios and its interval, seeded by the policy: the same data always
    give the same report (``seed_offset`` keeps the comparisons of one run from sharing their resamples)."""
    return median_ratio_interval(
        logs,
        rng=np.random.default_rng(policy.seed + seed_offset),
        resamples=policy.bootstrap_resamples,
        confidence=policy.confidence,
    )


def adjust_p_values(p_values: Sequence[float], correction: Correction) -> list[float]:
    """Adjust p-values for the number of comparisons in the suite."""
    if not p_values:
        return []
    if correction == "none":
        return list(p_values)
    if correction == "bh":
        return [float(p) for p in stats.false_discovery_control(np.asarray(p_values), method="bh")]
    # Holm step-down: the k-th smallest p is multiplied by (m - k), then made monotone.
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running_max = 0.0
    for rank, index in enumerate(order):
        running_max = max(running_max, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running_max
    return adjusted


def signed_rank_p_values(rows: np.ndarray, alternative: str = "two-sided") -> np.ndarray:
    """Wilcoxon signed-rank p-values of many comparisons at once (one row each, equal round counts)."""
    p_values = np.ones(rows.shape[0])
    informative = np.any(rows != 0, axis=1)  # identical values every round: no evidence of any change
    if informative.any():
        result = stats.wilcoxon(rows[informative], axis=1, zero_method="wilcox", alternative=alternative)
        p_values[informative] = np.nan_to_num(np.asarray(result.pvalue, dtype=float), nan=1.0)
    return p_values


def effect_threshold(policy: GatePolicy, noise_floor: float | None) -> float:
    """The relative change a comparison must exceed to fail: the default, raised by a calibrated floor."""
    return max(policy.min_effect, noise_floor or 0.0)


DETECTION_POWER = 0.95


def detectable_slowdown(logs: np.ndarray, *, threshold: float, alpha: float, rounds: int) -> float:
    """The smallest slowdown (0.064 = +6.4%) the gate would catch with 95% power on ``rounds`` rounds as
    noisy as the per-round log ratios ``logs``: what a "pass" of this comparison rules out.

    Both conditions of a regression must hold with that power: the test significant at ``alpha`` (normal
    approximation of the signed-rank test, at its 3/pi efficiency) and the median beyond ``threshold`` (the
    median's standard error is sqrt(pi/2) sigma / sqrt(n)). sigma is 1.4826 x the MAD of ``logs``, robust to
    the odd disturbed round. An approximation, documented as one: it takes the suspects of stage 2 to be one
    (Holm over several lowers alpha) and the fresh rounds to be as noisy as these.
    """
    if logs.size < 2 or rounds < 1:
        raise ValueError("need at least two rounds to estimate the noise")
    sigma = 1.4826 * float(np.median(np.abs(logs - np.median(logs))))
    z_alpha = float(stats.norm.ppf(1 - alpha / 2))
    z_power = float(stats.norm.ppf(DETECTION_POWER))
    test_log = signed_rank_detectable_log(sigma, rounds, z_alpha=z_alpha, z_power=z_power)
    median_log = median_detectable_log(sigma, rounds, threshold=threshold, z_power=z_power)
    return math.expm1(max(test_log, median_log))


def detectable_change(comparison: PairedRounds, policy: GatePolicy, *, deciding_rounds: int) -> float | None:
    """The comparison's minimum detectable effect at 95% power: :func:`detectable_slowdown` of its own
    rounds' noise and its own threshold, for the ``deciding_rounds`` that decide its verdict. The one figure
    the table, ``gate-comparisons.json`` and the summary show; None under ``MIN_ROUNDS`` rounds."""
    if len(comparison.base_values) < MIN_ROUNDS:
        return None
    return detectable_slowdown(
        log_ratios(comparison.candidate_values, comparison.base_values),
        threshold=effect_threshold(policy, comparison.noise_floor),
        alpha=policy.alpha,
        rounds=deciding_rounds,
    )


def judge_deterministic(
    *,
    function: str,
    impl: Impl,
    workload: str,
    metric: str,
    base_value: float,
    candidate_value: float,
    relative_threshold: float,
    absolute_floor: float = 0.0,
    unit: str = "",
) -> GateComparison:
    """Verdict for a (nearly) deterministic count: allocated bytes per call, instructions per call.

    Fails when the candidate grows by more than ``relative_threshold`` AND by at least ``absolute_floor``
    (so a function allocating 40 bytes does not fail for allocating 48).
    """
    if base_value < 0 or candidate_value < 0 or math.isnan(base_value) or math.isnan(candidate_value):
        raise ValueError(f"{function}/{impl}/{workload}/{metric}: counts must be >= 0")
    growth = candidate_value - base_value
    ratio = candidate_value / base_value if base_value > 0 else (1.0 if candidate_value == 0 else math.inf)
    relative_growth = ratio - 1
    if relative_growth > relative_threshold and growth >= absolute_floor and growth > 0:
        outcome = GateOutcome.REGRESSION
    elif relative_growth < -relative_threshold / (1 + relative_threshold) and -growth >= absolute_floor:
        outcome = GateOutcome.IMPROVEMENT
    else:
        outcome = GateOutcome.PASS
    shown_ratio = ratio if math.isfinite(ratio) else float(np.finfo(float).max)
    # A count has no noise to see through: the smallest growth that fails is caught every time.
    detectable = max(relative_threshold, absolute_floor / base_value) if base_value > 0 else None
    return GateComparison(
        function=function,
        impl=impl,
        workload=workload,
        metric=metric,
        change_ratio=shown_ratio,
        ci_low=shown_ratio,
        ci_high=shown_ratio,
        p_value_adjusted=None,
        outcome=outcome,
        detail=(
            f"{base_value:.6g} -> {candidate_value:.6g}{unit} per call; fails above "
            f"+{relative_threshold:.1%} and +{absolute_floor:.6g}{unit}"
        ),
        detectable_change=detectable,
    )


def floor_metric(impl: Impl) -> str:
    """The floor comparison's metric: ``rust_vs_python``; ``fallback_vs_python`` for the path callers use."""
    return f"{impl}_vs_python"


def judge_speedup_floor(
    *,
    function: str,
    workload: str,
    rust_values_ns: Sequence[float],
    python_values_ns: Sequence[float],
    floor: float,
    policy: GatePolicy,
    impl: Impl = Impl.RUST,
) -> GateComparison:
    """Rust must pay its way: fail when the whole interval of the in-run speedup is below ``floor``.

    ``impl`` is the side put against Python: Rust called directly, or the fallback (``rust_values_ns`` are
    then the fallback's). The speedup of round i is python_i / rust_i (both sides were timed in the same
    round). The comparison is reported as Rust time / Python time, so like every other comparison a ratio
    > 1 is bad.
    """
    metric = floor_metric(impl)
    if len(rust_values_ns) != len(python_values_ns):
        raise ValueError(f"{function}/{workload}: {impl} and Python rounds are not paired")
    if len(rust_values_ns) < MIN_ROUNDS:
        return cannot_judge_comparison(function, impl, workload, metric, too_few_rounds(len(rust_values_ns)))
    estimate = policy_interval(log_ratios(python_values_ns, rust_values_ns), policy)
    below = estimate.ci_high < floor
    return GateComparison(
        function=function,
        impl=impl,
        workload=workload,
        metric=metric,
        change_ratio=1 / estimate.ratio,
        ci_low=1 / estimate.ci_high,
        ci_high=1 / estimate.ci_low,
        p_value_adjusted=None,
        outcome=GateOutcome.REGRESSION if below else GateOutcome.PASS,
        detail=(
            f"{'production ' if impl is Impl.FALLBACK else ''}speedup {estimate.ratio:.2f}x "
            f"[{estimate.ci_low:.2f}, {estimate.ci_high:.2f}]"
            f"{' entirely below' if below else ' vs'} the floor {floor:.2f}x"
        ),
    )


def compare_independent_samples(
    *,
    function: str,
    impl: Impl,
    workload: str,
    metric: str,
    base_values: Sequence[float],
    candidate_values: Sequence[float],
    policy: GatePolicy,
    noise_floor: float | None = None,
) -> tuple[RatioInterval, float]:
    """Median ratio and raw Mann-Whitney p-value for samples that were NOT measured in paired rounds.

    Used by baseline mode (the base was measured in another run). Returns the estimate and the raw p-value;
    the caller adjusts p-values over the suite with :func:`adjust_p_values`.
    """
    del noise_floor  # accepted for symmetry with paired comparisons; applied by the caller
    if len(base_values) < MIN_ROUNDS or len(candidate_values) < MIN_ROUNDS:
        raise ValueError(f"{function}/{impl}/{workload}/{metric}: fewer than {MIN_ROUNDS} values")
    base_logs = np.log(np.asarray(base_values, dtype=float))
    candidate_logs = np.log(np.asarray(candidate_values, dtype=float))
    rng = np.random.default_rng(policy.seed)
    base_medians = bootstrap_log_medians(base_logs, rng, policy.bootstrap_resamples)
    differences = bootstrap_log_medians(candidate_logs, rng, policy.bootstrap_resamples) - base_medians
    center = float(np.median(candidate_logs) - np.median(base_logs))
    estimate = percentile_interval(center, differences, policy.confidence)
    p_value = float(stats.mannwhitneyu(candidate_logs, base_logs, alternative="two-sided").pvalue)
    return estimate, p_value


def decide(
    *,
    estimate: RatioInterval,
    p_adjusted: float,
    threshold: float,
    alpha: float,
) -> GateOutcome:
    """The rule shared by every statistical comparison: significant AND beyond the minimum effect."""
    if p_adjusted < alpha and estimate.ratio > 1 + threshold and estimate.ci_low > 1:
        return GateOutcome.REGRESSION
    if p_adjusted < alpha and estimate.ratio < 1 / (1 + threshold) and estimate.ci_high < 1:
        return GateOutcome.IMPROVEMENT
    return GateOutcome.PASS
