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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

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
    too_few_rounds,
)
from harness.gate.looks import ONE_LOOK, Look, Stage2Looks, Stage2Record, SuspectLooks
from harness.results import GateComparison, GateOutcome
from harness.stats import RatioInterval, log_ratios, median_rank_interval

# Re-measures the given suspects on fresh rounds for one look of stage 2 (the first of ``Look.of``, the
# fixed stage 2's, takes ``confirm_rounds``; each further one half as many: ``looks.look_rounds``); one entry
# per suspect, in order: the new rounds, or why they could not be measured. The gate passes a function that
# drives both builds' workers; tests simulate.
Remeasure = Callable[[Sequence[PairedRounds], Look], Sequence[PairedRounds | str]]
Clock = Callable[[], float]  # seconds, for stage 2's time budget

# How the details of suspects that stage 2 left open begin. The gate turns an otherwise clean run that has
# one into "cannot judge" (exit 3), since a real slowdown may be among them:
SCREEN_DECIDED = "stage 1 (screen) decided"  # not a suspect: the screen's verdict stands
UNCONFIRMED = "suspect not confirmed"  # the stage-2 budget (max_suspects) did not reach it
NOT_CLEARED = "suspect not cleared"  # re-measured, but too noisy to rule out a slowdown of clear_effect
NOT_REMEASURED = "stage 2 (confirm) could not re-measure"  # its worker failed
_UNRESOLVED = (UNCONFIRMED, NOT_CLEARED, NOT_REMEASURED)


def unresolved(comparisons: Sequence[GateComparison]) -> list[GateComparison]:
    """The suspects stage 2 could neither confirm nor clear."""
    return [c for c in comparisons if c.detail.startswith(_UNRESOLVED)]


def confirm_rounds(policy: GatePolicy, screen_rounds: int) -> int:
    """Stage-2 rounds: a multiple of the plan's rounds, and at least ``confirm_min_rounds``."""
    return max(policy.confirm_min_rounds, policy.confirm_rounds_factor * screen_rounds)


@dataclass(frozen=True)
class Confirmation:
    """Stage 2's verdict on one suspect."""

    outcome: GateOutcome  # REGRESSION, PASS, or CANNOT_JUDGE (not re-measured)
    estimate: RatioInterval | None
    p_adjusted: float | None  # Holm (policy.correction) over the confirmed suspects
    rounds: int
    detail: str
    fresh: PairedRounds | None = None  # the re-measured rounds the verdict came from


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


def signed_rank_p_values(rows: np.ndarray, alternative: str = "two-sided") -> np.ndarray:
    """Wilcoxon signed-rank p-values of many comparisons at once (one row each, equal round counts)."""
    p_values = np.ones(rows.shape[0])
    informative = np.any(rows != 0, axis=1)  # identical values every round: no evidence of any change
    if informative.any():
        result = stats.wilcoxon(rows[informative], axis=1, zero_method="wilcox", alternative=alternative)
        p_values[informative] = np.nan_to_num(np.asarray(result.pvalue, dtype=float), nan=1.0)
    return p_values


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
        confirmations, record = _confirm(comparisons, chosen, remeasure, policy, looks, clock)
    return TwoStageDecision(
        screen_p_values=tuple(p_values),
        screen_log_medians=tuple(log_medians),
        suspects=suspects,
        confirmations=confirmations,
        stage2=record,
    )


def _confirm(
    comparisons: Sequence[PairedRounds],
    chosen: Sequence[int],
    remeasure: Remeasure,
    policy: GatePolicy,
    looks: Stage2Looks,
    clock: Clock,
) -> tuple[dict[int, Confirmation], Stage2Record]:
    """Stage 2's looks (harness/gate/looks.py): the first re-measures every chosen suspect; each further
    look adds fresh rounds to the ones neither confirmed nor cleared, until K looks or the budget is spent."""
    started = clock()
    confirmations: dict[int, Confirmation] = {}
    states: dict[int, _Suspect] = {}
    still_open = list(chosen)
    looks_started = 0
    budget_spent = False
    for look in range(looks.looks):
        if not still_open:
            break
        if look and looks.budget_s is not None and clock() - started >= looks.budget_s:
            budget_spent = True
            break
        fresh = remeasure([comparisons[i] for i in still_open], Look(look, looks.looks))
        if len(fresh) != len(still_open):
            raise ValueError(f"re-measurement returned {len(fresh)} results for {len(still_open)} suspects")
        looks_started += 1
        measured = _pool_look(look, still_open, fresh, comparisons, states, confirmations)
        still_open = _judge_look(look, measured, comparisons, states, confirmations, policy, looks)
    stopped = f"; the {looks.budget_s:g} s budget was spent" if budget_spent else "; no look was left"
    for index in still_open:
        verdict = states[index].verdict + (stopped if looks.sequential else "")
        confirmations[index] = states[index].confirmation(
            GateOutcome.CANNOT_JUDGE, verdict, policy, looks, len(states)
        )
    record = Stage2Record(
        max_looks=looks.looks,
        budget_s=looks.budget_s,
        looks_started=looks_started,
        budget_spent=budget_spent,
        suspects={comparisons[i].label: _looks_of(confirmations[i], states.get(i)) for i in chosen},
    )
    return confirmations, record


@dataclass
class _Suspect:
    """One suspect across stage 2's looks: its pooled fresh rounds and its best (Bonferroni) p so far."""

    position: int  # in the Holm family (the suspects the first look measured): seeds its bootstrap
    pooled: PairedRounds
    rounds: list[int]  # fresh rounds added by each look
    p_best: float = 1.0
    estimate: RatioInterval | None = None
    p_adjusted: float | None = None
    verdict: str = ""

    def confirmation(
        self, outcome: GateOutcome, verdict: str, policy: GatePolicy, looks: Stage2Looks, family: int
    ) -> Confirmation:
        assert self.estimate is not None  # judged at least once
        total = sum(self.rounds)
        detail = f"{verdict}; {total} fresh rounds, {policy.correction} over {family} suspect(s)"
        if looks.sequential:
            detail = (
                f"{verdict}; {total} fresh rounds ({' + '.join(map(str, self.rounds))}) over "
                f"{len(self.rounds)} of at most {looks.looks} looks, {policy.correction} over {family} "
                f"suspect(s) of p x {looks.looks} (Bonferroni over the looks)"
            )
        return Confirmation(outcome, self.estimate, self.p_adjusted, total, detail, self.pooled)


def _pool_look(
    look: int,
    still_open: Sequence[int],
    fresh: Sequence[PairedRounds | str],
    comparisons: Sequence[PairedRounds],
    states: dict[int, _Suspect],
    confirmations: dict[int, Confirmation],
) -> list[int]:
    """Adds each suspect's fresh rounds to its earlier looks' ones; the suspects measured this look. One
    that could not be measured leaves, "cannot judge" (on its earlier looks' figures, if it had any)."""
    measured: list[int] = []
    for index, result in zip(still_open, fresh, strict=True):
        state = states.get(index)
        least = MIN_ROUNDS if state is None else 1
        if isinstance(result, str) or len(result.base_values) < least:
            reason = result if isinstance(result, str) else f"only {len(result.base_values)} rounds"
            if state is None:
                confirmations[index] = Confirmation(
                    GateOutcome.CANNOT_JUDGE, None, None, 0, f"{NOT_REMEASURED}: {reason}"
                )
            else:
                confirmations[index] = replace(
                    confirmations.get(index) or _open_confirmation(state),
                    detail=f"{NOT_REMEASURED} at look {look + 1}: {reason}; {state.verdict}",
                )
            continue
        if state is None:
            pooled = replace(result, noise_floor=comparisons[index].noise_floor)
            states[index] = _Suspect(len(states), pooled, [len(result.base_values)])
        else:
            state.pooled = replace(
                state.pooled,
                base_values=state.pooled.base_values + result.base_values,
                candidate_values=state.pooled.candidate_values + result.candidate_values,
            )
            state.rounds.append(len(result.base_values))
        measured.append(index)
    return measured


def _open_confirmation(state: _Suspect) -> Confirmation:
    return Confirmation(
        GateOutcome.CANNOT_JUDGE, state.estimate, state.p_adjusted, sum(state.rounds), "", state.pooled
    )


def _judge_look(
    look: int,
    measured: Sequence[int],
    comparisons: Sequence[PairedRounds],
    states: dict[int, _Suspect],
    confirmations: dict[int, Confirmation],
    policy: GatePolicy,
    looks: Stage2Looks,
) -> list[int]:
    """Judges the suspects measured this look on all their rounds so far: confirmed and cleared ones get
    their confirmation and leave; the ones still open are returned."""
    values = [log_ratios(states[i].pooled.candidate_values, states[i].pooled.base_values) for i in measured]
    # One-sided: the direction was fixed by stage 1, before these data existed.
    raw_p = [0.0] * len(measured)
    for positions in _group_by_length(values).values():
        group_p = signed_rank_p_values(np.stack([values[i] for i in positions]), alternative="greater")
        for row, position in enumerate(positions):
            raw_p[position] = float(group_p[row])
    for index, p_value in zip(measured, raw_p, strict=True):
        states[index].p_best = looks.combined_p(states[index].p_best, p_value)
    # The family is every suspect the first look measured, each with its best p so far; Holm unless
    # gate.toml chose "bh".
    family = sorted(states, key=lambda i: states[i].position)
    adjusted = dict(zip(family, adjust_p_values([states[i].p_best for i in family], policy.correction)))
    interval_policy = replace(policy, confidence=looks.confidence(policy))
    still_open: list[int] = []
    for index, row_values in zip(measured, values, strict=True):
        state = states[index]
        state.estimate = policy_interval(
            row_values, interval_policy, seed_offset=100_000 + 1_000 * look + state.position
        )
        state.p_adjusted = adjusted[index]
        threshold = effect_threshold(policy, comparisons[index].noise_floor)
        outcome, state.verdict = _stage2_verdict(state.estimate, state.p_adjusted, threshold, policy)
        if outcome is GateOutcome.CANNOT_JUDGE:  # neither confirmed nor cleared: open for the next look
            still_open.append(index)
            continue
        confirmations[index] = state.confirmation(outcome, state.verdict, policy, looks, len(states))
    return still_open


def _looks_of(confirmation: Confirmation, state: _Suspect | None) -> SuspectLooks:
    """The record of one suspect's looks, for gate-comparisons.json and the summary."""
    if state is None:
        return SuspectLooks(looks=1, rounds=(), ended="not re-measured")
    ended = {GateOutcome.REGRESSION: "confirmed", GateOutcome.PASS: "cleared"}.get(
        confirmation.outcome, "not re-measured" if confirmation.detail.startswith(NOT_REMEASURED) else "open"
    )
    return SuspectLooks(looks=len(state.rounds), rounds=tuple(state.rounds), ended=ended)


def _stage2_verdict(
    estimate: RatioInterval, p_adjusted: float, threshold: float, policy: GatePolicy
) -> tuple[GateOutcome, str]:
    """Confirmed, not cleared (cannot judge) or passed, with the sentence that says which."""
    outcome = decide(estimate=estimate, p_adjusted=p_adjusted, threshold=threshold, alpha=policy.alpha)
    clear_limit = max(policy.clear_effect, threshold)
    if outcome is GateOutcome.REGRESSION:
        verdict = (
            f"stage 2 (confirm) decided: confirmed: slower by more than the {threshold:.1%} minimum effect"
        )
    elif estimate.ci_high > 1 + clear_limit:
        # Neither confirmed nor cleared: the rounds were too noisy to rule out a slowdown this gate exists
        # to catch. "Pass" would be a guess; say so instead (exit 3 when nothing regressed).
        outcome = GateOutcome.CANNOT_JUDGE
        verdict = (
            f"{NOT_CLEARED}: stage 2's interval reaches {estimate.ci_high - 1:+.1%}, beyond "
            f"+{clear_limit:.0%} (clear_effect), and the slowdown is not significant"
        )
    else:
        outcome = GateOutcome.PASS
        verdict = (
            f"stage 2 (confirm) decided: not confirmed (needs Holm p < {policy.alpha}, "
            f"> +{threshold:.1%}, interval above 1)"
        )
    return outcome, verdict


def _group_by_length(rows: Sequence[np.ndarray]) -> dict[int, list[int]]:
    """Positions of the rows of each length: the vectorised test needs equal round counts."""
    groups: dict[int, list[int]] = {}
    for position, row in enumerate(rows):
        groups.setdefault(row.size, []).append(position)
    return groups


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
