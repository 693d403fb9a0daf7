"""Two-stage timing verdicts: screen every comparison, then confirm the suspects on fresh rounds.

Why (docs/gate.md, "Two stages"): with 14 rounds the exact signed-rank test cannot go below p = 1.2e-4, and
Holm over ~120 comparisons asks for 4.2e-4 on the most extreme one, so a real 10% slowdown was caught only
when nearly every round agreed. Two stages spend the rounds where they matter:

1. **Screen** (the plan's rounds, every comparison): a comparison is a *suspect* when its median ratio is
   above 1 (slower), the distribution-free 95% interval of its median reaches beyond the minimum effect,
   and either its raw two-sided p is below ``screen_level`` or its median already exceeds the minimum
   effect. The screen decides nothing; it only chooses what to re-measure, so it can be liberal: a false
   suspect costs stage-2 time, a missed one is lost for good.
2. **Confirm** (fresh worker processes, ``confirm_rounds`` new interleaved rounds, suspects only): the
   verdict uses stage-2 data alone: Holm over the confirmed suspects, the minimum effect, and the bootstrap
   interval above 1.

Stage-2 data are independent of the stage-1 data that chose the suspects, so, given the suspects, stage 2
is an ordinary Holm-controlled family: the chance of any false alarm in a run stays <= alpha.

Stage 2 may also be sequential (``harness/gate/looks.py``, ``--stage2-looks K``, off by default): up to K
looks, each adding fresh rounds to the suspects neither confirmed nor cleared, Bonferroni over the K looks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.gate.compare import (
    MIN_ROUNDS,
    GatePolicy,
    PairedRounds,
    adjust_p_values,
    cannot_judge_rounds,
    decide,
    detectable_change,
    effect_threshold,
    policy_interval,
    signed_rank_p_values,
    too_few_rounds,
)
from harness.gate.looks import ONE_LOOK, Stage2Looks, Stage2Record
from harness.gate.stage2 import NOT_CLEARED, NOT_REMEASURED, Clock, Confirmation, Remeasure, confirm
from harness.results import GateComparison, GateOutcome
from harness.stats import RatioInterval, log_ratios, median_rank_interval

__all__ = ["NOT_CLEARED", "NOT_REMEASURED", "Clock", "Confirmation", "Remeasure"]  # from stage2.py

# How the details of suspects that stage 2 left open begin (with NOT_CLEARED and NOT_REMEASURED of
# stage2.py). The gate turns an otherwise clean run that has one into "cannot judge" (exit 3), since a real
# slowdown may be among them:
SCREEN_DECIDED = "stage 1 (screen) decided"  # not a suspect: the screen's verdict stands
UNCONFIRMED = "suspect not confirmed"  # the stage-2 budget (max_suspects) did not reach it
_UNRESOLVED = (UNCONFIRMED, NOT_CLEARED, NOT_REMEASURED)


def unresolved(comparisons: Sequence[GateComparison]) -> list[GateComparison]:
    """The suspects stage 2 could neither confirm nor clear."""
    return [c for c in comparisons if c.detail.startswith(_UNRESOLVED)]


def confirm_rounds(policy: GatePolicy, screen_rounds: int) -> int:
    """Stage-2 rounds: a multiple of the plan's rounds, and at least ``confirm_min_rounds``."""
    return max(policy.confirm_min_rounds, policy.confirm_rounds_factor * screen_rounds)


@dataclass(frozen=True)
class TwoStageDecision:
    """What decides the exit code: the screen's p-values, the suspects, and stage 2's verdicts."""

    screen_p_values: tuple[float | None, ...]  # raw, two-sided; None: too few rounds to judge
    screen_log_medians: tuple[float | None, ...]
    suspects: tuple[int, ...]  # indexes into the comparisons, most extreme first (before the cap)
    confirmations: Mapping[int, Confirmation] = field(default_factory=dict)  # the first max_suspects
    stage2: Stage2Record | None = None  # stage 2's looks; None when there was no suspect

    @property
    def unconfirmed(self) -> tuple[int, ...]:
        return tuple(i for i in self.suspects if i not in self.confirmations)

    @property
    def regressions(self) -> tuple[int, ...]:
        return tuple(i for i, c in self.confirmations.items() if c.outcome is GateOutcome.REGRESSION)


def median_upper_bound(rows: np.ndarray, confidence: float) -> np.ndarray:
    """Upper end of the distribution-free (binomial order-statistic) interval of each row's median.

    No resampling: the screen runs on every comparison of every run, and the simulation tests on thousands.
    """
    _, upper_rank = median_rank_interval(rows.shape[1], confidence)
    ordered: np.ndarray = np.sort(rows, axis=1)[:, upper_rank]
    return ordered


def decide_two_stage(
    comparisons: Sequence[PairedRounds],
    remeasure: Remeasure,
    policy: GatePolicy,
    looks: Stage2Looks = ONE_LOOK,
    clock: Clock = time.monotonic,
) -> TwoStageDecision:
    """Screens every comparison, re-measures the most extreme ``max_suspects`` suspects, judges on stage 2
    (in up to ``looks.looks`` looks)."""
    p_values: list[float | None] = [None] * len(comparisons)
    log_medians: list[float | None] = [None] * len(comparisons)
    candidates: list[int] = []
    by_rounds: dict[int, list[int]] = {}
    for index, comparison in enumerate(comparisons):
        if len(comparison.base_values) >= MIN_ROUNDS:
            by_rounds.setdefault(len(comparison.base_values), []).append(index)
    for indexes in by_rounds.values():
        rows = np.stack(
            [log_ratios(comparisons[i].candidate_values, comparisons[i].base_values) for i in indexes]
        )
        group_p = signed_rank_p_values(rows)
        group_medians = np.median(rows, axis=1)
        upper = median_upper_bound(rows, policy.confidence)
        for row, index in enumerate(indexes):
            p_values[index] = float(group_p[row])
            log_medians[index] = float(group_medians[row])
            threshold = effect_threshold(policy, comparisons[index].noise_floor)
            # A few wild rounds (a slow base process) can push the signed-rank p above any level while the
            # median plainly exceeds the minimum effect: either sign of a slowdown makes a suspect.
            significant = group_p[row] < policy.screen_level or group_medians[row] > np.log1p(threshold)
            if significant and group_medians[row] > 0 and upper[row] > np.log1p(threshold):
                candidates.append(index)
    # Most extreme first: the smallest p, then the largest median slowdown.
    suspects = tuple(sorted(candidates, key=lambda i: (p_values[i], -(log_medians[i] or 0.0))))
    chosen = suspects[: policy.max_suspects]
    confirmations: dict[int, Confirmation] = {}
    record: Stage2Record | None = None
    if chosen:
        confirmations, record = confirm(comparisons, chosen, remeasure, policy, looks=looks, clock=clock)
    return TwoStageDecision(
        screen_p_values=tuple(p_values),
        screen_log_medians=tuple(log_medians),
        suspects=suspects,
        confirmations=confirmations,
        stage2=record,
    )


def judge_two_stage(
    comparisons: Sequence[PairedRounds],
    remeasure: Remeasure,
    policy: GatePolicy,
    looks: Stage2Looks = ONE_LOOK,
    clock: Clock = time.monotonic,
) -> tuple[list[GateComparison], TwoStageDecision]:
    """One verdict per comparison: suspects as stage 2 judged them, the others from the screen.

    Regressions come only from stage 2. Improvements never fail the gate; they are reported from the screen
    when significant after the correction over every comparison of the screen (the single-stage rule).
    """
    decision = decide_two_stage(comparisons, remeasure, policy, looks, clock)
    judged = [i for i, p in enumerate(decision.screen_p_values) if p is not None]
    screen_adjusted = dict(
        zip(
            judged,
            adjust_p_values([decision.screen_p_values[i] or 1.0 for i in judged], policy.correction),
            strict=True,
        )
    )
    unconfirmed = set(decision.unconfirmed)
    verdicts: list[GateComparison] = []
    for index, comparison in enumerate(comparisons):
        rounds = len(comparison.base_values)
        confirmation = decision.confirmations.get(index)
        if confirmation is not None:
            detail = (
                f"{confirmation.detail}; screen p {decision.screen_p_values[index]:.3g} over {rounds} rounds"
            )
            if confirmation.estimate is None:  # not measured again
                verdicts.append(cannot_judge_rounds(comparison, detail))
                continue
            verdicts.append(
                _verdict(
                    confirmation.fresh or comparison,
                    confirmation.estimate,
                    confirmation.p_adjusted,
                    confirmation.outcome,
                    detail,
                    policy=policy,
                    stage_two=confirmation.fresh is not None,
                )
            )
            continue
        if index not in screen_adjusted:
            verdicts.append(cannot_judge_rounds(comparison, too_few_rounds(rounds)))
            continue
        verdicts.append(
            _screen_verdict(
                comparison,
                index,
                decision,
                screen_adjusted[index],
                unconfirmed=index in unconfirmed,
                policy=policy,
            )
        )
    return verdicts, decision


def _screen_verdict(
    comparison: PairedRounds,
    index: int,
    decision: TwoStageDecision,
    p_adjusted: float,
    *,
    unconfirmed: bool,
    policy: GatePolicy,
) -> GateComparison:
    """A comparison stage 2 did not judge: passed or improved by the screen, or an unconfirmed suspect."""
    estimate = policy_interval(
        log_ratios(comparison.candidate_values, comparison.base_values), policy, seed_offset=index
    )
    if unconfirmed:
        outcome = GateOutcome.CANNOT_JUDGE
        detail = (
            f"{UNCONFIRMED}: the stage-2 budget ({policy.max_suspects} suspects) went to more extreme "
            f"ones; screen p {decision.screen_p_values[index]:.3g}"
        )
    else:
        threshold = effect_threshold(policy, comparison.noise_floor)
        improved = (
            decide(estimate=estimate, p_adjusted=p_adjusted, threshold=threshold, alpha=policy.alpha)
            is GateOutcome.IMPROVEMENT
        )
        outcome = GateOutcome.IMPROVEMENT if improved else GateOutcome.PASS
        detail = (
            f"{SCREEN_DECIDED}: {'faster (corrected)' if improved else 'not a suspect'}"
            f" (raw p {decision.screen_p_values[index]:.3g}, minimum effect {threshold:.1%})"
        )
    rounds = len(comparison.base_values)
    return _verdict(comparison, estimate, p_adjusted, outcome, f"{detail}; {rounds} rounds", policy=policy)


def _verdict(
    comparison: PairedRounds,
    estimate: RatioInterval,
    p_adjusted: float | None,
    outcome: GateOutcome,
    detail: str,
    *,
    policy: GatePolicy,
    stage_two: bool = False,
) -> GateComparison:
    """The comparison's verdict, with the medians of ``comparison``'s rounds (stage 2's own when it decided)
    and the slowdown the deciding stage could have caught: a screened pass would have gone to stage 2's
    ``confirm_rounds`` fresh rounds, so that is the count its detectable change is computed for."""
    rounds = len(comparison.base_values)
    deciding_rounds = rounds if stage_two else confirm_rounds(policy, rounds)
    return GateComparison(
        function=comparison.function,
        impl=comparison.impl,
        workload=comparison.workload,
        metric=comparison.metric,
        change_ratio=estimate.ratio,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        p_value_adjusted=p_adjusted,
        outcome=outcome,
        detail=detail,
        base_median=float(np.median(comparison.base_values)) if rounds else None,
        candidate_median=float(np.median(comparison.candidate_values)) if rounds else None,
        detectable_change=detectable_change(comparison, policy, deciding_rounds=deciding_rounds),
    )
