"""Stage 2 of the two-stage timing verdicts: confirm or clear the suspects on fresh rounds, in looks.

The fixed stage 2 (docs/gate.md, "Two stages") is one look: ``confirm_rounds`` fresh interleaved rounds of
each suspect, judged on those alone, Holm over the suspects. The sequential stage 2
(``harness/gate/looks.py``, docs/gate.md, "Sequential stage 2") takes up to K looks: each further one adds
fresh rounds to the suspects neither confirmed nor cleared, pooled with their earlier looks' rounds,
Bonferroni over the K looks.

``harness/gate/two_stage.py`` (the screen, and the verdicts of every comparison) calls :func:`confirm`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from harness.gate.compare import (
    MIN_ROUNDS,
    GatePolicy,
    PairedRounds,
    adjust_p_values,
    decide,
    effect_threshold,
    policy_interval,
    signed_rank_p_values,
)
from harness.gate.looks import Look, Stage2Looks, Stage2Record, SuspectLooks
from harness.results import GateOutcome
from harness.stats import RatioInterval, log_ratios

# Re-measures the given suspects on fresh rounds for one look of stage 2 (the first of ``Look.of``, the
# fixed stage 2's, takes ``confirm_rounds``; each further one half as many: ``looks.look_rounds``); one entry
# per suspect, in order: the new rounds, or why they could not be measured. The gate passes a function that
# drives both builds' workers; tests simulate.
Remeasure = Callable[[Sequence[PairedRounds], Look], Sequence[PairedRounds | str]]
Clock = Callable[[], float]  # seconds, for stage 2's time budget

# How the details of suspects that stage 2 re-measured but left open begin (two_stage.py lists every kind):
NOT_CLEARED = "suspect not cleared"  # re-measured, but too noisy to rule out a slowdown of clear_effect
NOT_REMEASURED = "stage 2 (confirm) could not re-measure"  # its worker failed


@dataclass(frozen=True)
class Confirmation:
    """Stage 2's verdict on one suspect."""

    outcome: GateOutcome  # REGRESSION, PASS, or CANNOT_JUDGE (not re-measured)
    estimate: RatioInterval | None
    p_adjusted: float | None  # Holm (policy.correction) over the confirmed suspects
    rounds: int
    detail: str
    fresh: PairedRounds | None = None  # the re-measured rounds the verdict came from


def confirm(
    comparisons: Sequence[PairedRounds],
    chosen: Sequence[int],
    remeasure: Remeasure,
    policy: GatePolicy,
    *,
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
        measured = _pool_look(
            look, still_open, fresh, comparisons, states=states, confirmations=confirmations
        )
        still_open = _judge_look(
            look,
            measured,
            comparisons,
            states=states,
            confirmations=confirmations,
            policy=policy,
            looks=looks,
        )
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
    *,
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
    *,
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
    adjusted = dict(
        zip(family, adjust_p_values([states[i].p_best for i in family], policy.correction), strict=True)
    )
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
