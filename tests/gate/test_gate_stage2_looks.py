"""The sequential stage 2 (harness/gate/looks.py) on fake re-measurements and a fake clock."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.commands import gate as gate_command
from harness.gate.compare import GatePolicy, PairedRounds
from harness.gate.gate import unconfirmed_reason
from harness.gate.looks import ONE_LOOK, Look, Stage2Looks, look_order_seed, look_rounds
from harness.gate.outcome import CannotJudgeCode, ExitCode, GateReport, exit_code_for
from harness.gate.outputs import write_outputs
from harness.gate.summary import JOB_SUMMARY_LIMIT_BYTES, render_summary
from harness.gate.two_stage import NOT_CLEARED, NOT_REMEASURED, judge_two_stage
from harness.results import GateOutcome, Impl
from tests.gate.stage2_fakes import FIRST_LOOK_ROUNDS, FakeStage2, one_look_verdicts

GOLDEN = Path(__file__).with_name("data") / "stage2_one_look_verdicts.json"
POLICY = GatePolicy(bootstrap_resamples=500)
LATER_LOOK_ROUNDS = look_rounds(FIRST_LOOK_ROUNDS, 1)  # 21


def _suspect_screen(shift: float = 0.25, names: Sequence[str] = ("f0",)) -> list[PairedRounds]:
    """Comparisons the screen certainly picks: every round +``shift``, a little noise."""
    base = tuple(1000.0 * (1 + i / 100) for i in range(14))
    logs = np.log1p(shift) + np.linspace(-0.01, 0.01, 14)
    candidate = tuple(b * float(np.exp(r)) for b, r in zip(base, logs, strict=True))
    return [PairedRounds(name, Impl.PYTHON, "w", base, candidate) for name in names]


def test_one_look_gives_the_verdicts_of_the_fixed_stage_two() -> None:
    """At K = 1 every verdict (outcome, change, interval, adjusted p, detail, medians, what it could see) of
    12 fake suites, with suspects confirmed, cleared, not cleared, beyond the budget and not re-measured,
    equals what the fixed stage 2 of 1cfe57f gave on the same fake data (the golden file)."""
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = one_look_verdicts(judge_two_stage)
    assert json.loads(json.dumps(got)) == expected
    explicit = one_look_verdicts(
        lambda screen, remeasure, policy: judge_two_stage(screen, remeasure, policy, Stage2Looks(looks=1))
    )
    assert explicit == got
    details = [v["detail"] for suite in expected for v in suite]
    for kind in (
        "decided: confirmed",
        NOT_CLEARED,
        "not confirmed (needs",
        "suspect not confirmed",
        NOT_REMEASURED,
    ):
        assert any(kind in detail for detail in details), kind  # the golden file covers every kind


def test_bonferroni_over_the_looks() -> None:
    looks = Stage2Looks(looks=4)
    assert looks.confidence(POLICY) == pytest.approx(0.9875)
    assert looks.combined_p(1.0, 0.01) == pytest.approx(0.04)
    assert looks.combined_p(0.02, 0.5) == 0.02  # the best look so far stands
    assert looks.combined_p(1.0, 0.3) == 1.0
    assert ONE_LOOK.confidence(POLICY) == POLICY.confidence and ONE_LOOK.combined_p(1.0, 0.3) == 0.3
    with pytest.raises(ValueError, match="looks"):
        Stage2Looks(looks=0)
    with pytest.raises(ValueError, match="budget"):
        Stage2Looks(looks=2, budget_s=0.0)


def test_a_real_twenty_percent_slowdown_is_confirmed() -> None:
    suite = FakeStage2(np.random.default_rng(1), [0.20], [0.30])
    screen = _suspect_screen(0.20)
    (verdict,), decision = judge_two_stage(screen, suite.remeasure, POLICY, Stage2Looks(looks=4))
    assert verdict.outcome is GateOutcome.REGRESSION
    assert verdict.detail.startswith("stage 2 (confirm) decided: confirmed")
    assert decision.stage2 is not None and decision.stage2.suspects is not None
    taken = decision.stage2.suspects["f0/python/w/time"]
    assert taken.ended == "confirmed" and taken.looks == 1 and taken.rounds == (FIRST_LOOK_ROUNDS,)
    assert [look for look, _, _ in suite.asked] == [0]  # confirmed at the first look: no further look


def test_only_the_suspects_still_open_take_the_further_looks() -> None:
    """A clear slowdown (f0) is confirmed at the first look and leaves; a null suspect with noisy rounds
    (f1) stays open, so the second and third looks re-measure f1 alone, and its rounds grow 42 + 21 + 21."""
    suite = FakeStage2(np.random.default_rng(5), [0.25, 0.0], [0.05, 0.8])
    screen = _suspect_screen(names=("f0", "f1"))
    verdicts, decision = judge_two_stage(screen, suite.remeasure, POLICY, Stage2Looks(looks=3))
    assert suite.asked == [
        (0, ("f0", "f1"), FIRST_LOOK_ROUNDS),
        (1, ("f1",), LATER_LOOK_ROUNDS),
        (2, ("f1",), LATER_LOOK_ROUNDS),
    ]
    assert [v.outcome for v in verdicts] == [GateOutcome.REGRESSION, GateOutcome.CANNOT_JUDGE]
    assert decision.confirmations[0].rounds == FIRST_LOOK_ROUNDS
    assert decision.confirmations[1].rounds == FIRST_LOOK_ROUNDS + 2 * LATER_LOOK_ROUNDS
    assert decision.stage2 is not None and decision.stage2.suspects is not None
    assert decision.stage2.looks_started == 3 and not decision.stage2.budget_spent
    first, second = (decision.stage2.suspects[f"f{i}/python/w/time"] for i in range(2))
    assert (first.looks, first.rounds, first.ended) == (1, (FIRST_LOOK_ROUNDS,), "confirmed")
    assert (second.looks, second.ended) == (3, "open")
    assert second.rounds == (FIRST_LOOK_ROUNDS, LATER_LOOK_ROUNDS, LATER_LOOK_ROUNDS)


def test_k_looks_multiply_the_p_value_by_k_and_widen_the_interval() -> None:
    """The same fresh rounds judged at K = 1 and K = 4, the suspect confirmed at the first look both times:
    its adjusted p at K = 4 is 4 x the one at K = 1 (one suspect: Holm leaves it), and its interval is the
    98.75% one, wider than the 95% one on the same rounds."""
    policy = replace(POLICY, min_effect=0.0)
    judged = {}
    for k in (1, 4):
        suite = FakeStage2(np.random.default_rng(6), [0.10], [0.15])
        (verdict,), _ = judge_two_stage(_suspect_screen(), suite.remeasure, policy, Stage2Looks(k))
        assert verdict.outcome is GateOutcome.REGRESSION and len(suite.asked) == 1
        judged[k] = verdict
    one, four = judged[1], judged[4]
    assert one.p_value_adjusted is not None and four.p_value_adjusted is not None
    assert 1e-6 < one.p_value_adjusted < 0.01  # small, but not so small that x 4 could not be told apart
    assert four.p_value_adjusted == pytest.approx(4 * one.p_value_adjusted)
    assert four.change_ratio == one.change_ratio
    assert four.ci_low < one.ci_low and four.ci_high > one.ci_high


def test_a_null_suspect_is_cleared_by_later_looks_that_one_look_cannot_clear() -> None:
    """The same fresh rounds: one look leaves the suspect open (exit 3); further looks pool more rounds
    until its interval lies below +10% (clear_effect)."""
    one, more = (FakeStage2(np.random.default_rng(11), [0.0], [0.32]) for _ in range(2))
    (alone,), _ = judge_two_stage(_suspect_screen(), one.remeasure, POLICY)
    assert alone.outcome is GateOutcome.CANNOT_JUDGE and alone.detail.startswith(NOT_CLEARED)
    (cleared,), decision = judge_two_stage(_suspect_screen(), more.remeasure, POLICY, Stage2Looks(looks=6))
    assert cleared.outcome is GateOutcome.PASS
    assert cleared.ci_high <= 1 + POLICY.clear_effect
    assert decision.stage2 is not None and decision.stage2.suspects is not None
    taken = decision.stage2.suspects["f0/python/w/time"]
    assert taken.ended == "cleared" and taken.looks > 1
    assert exit_code_for([cleared], unconfirmed_reason([cleared], POLICY)) is ExitCode.NO_REGRESSION


def test_each_look_pools_its_fresh_rounds_with_the_earlier_ones() -> None:
    suite = FakeStage2(np.random.default_rng(3), [0.0], [0.6])
    (verdict,), decision = judge_two_stage(_suspect_screen(), suite.remeasure, POLICY, Stage2Looks(looks=3))
    assert [(look, count) for look, _, count in suite.asked] == [
        (0, FIRST_LOOK_ROUNDS),
        (1, LATER_LOOK_ROUNDS),
        (2, LATER_LOOK_ROUNDS),
    ]
    pooled = decision.confirmations[0].fresh
    assert pooled is not None
    assert pooled.base_values == tuple(v for r in suite.returned["f0"] for v in r.base_values)
    assert pooled.candidate_values == tuple(v for r in suite.returned["f0"] for v in r.candidate_values)
    assert decision.confirmations[0].rounds == FIRST_LOOK_ROUNDS + 2 * LATER_LOOK_ROUNDS
    assert "42 + 21 + 21" in verdict.detail and "3 of at most 3 looks" in verdict.detail


def test_an_open_suspect_after_the_last_look_is_exit_3() -> None:
    suite = FakeStage2(np.random.default_rng(3), [0.0], [0.6])
    verdicts, decision = judge_two_stage(_suspect_screen(), suite.remeasure, POLICY, Stage2Looks(looks=3))
    (verdict,) = verdicts
    assert verdict.outcome is GateOutcome.CANNOT_JUDGE
    assert verdict.detail.startswith(NOT_CLEARED) and "no look was left" in verdict.detail
    reason = unconfirmed_reason(verdicts, POLICY)
    assert reason is not None and reason.code is CannotJudgeCode.UNCONFIRMED_SUSPECTS
    assert exit_code_for(verdicts, reason) is ExitCode.CANNOT_JUDGE
    assert decision.stage2 is not None and decision.stage2.suspects is not None
    assert decision.stage2.suspects["f0/python/w/time"].ended == "open"


def test_the_budget_stops_the_looks_before_one_would_start_after_it() -> None:
    """Each look takes 30 s of the fake clock: looks start at 0 s and 30 s; at 60 s the 50 s budget is
    spent, so the third is not started, and the suspect still open is exit 3."""
    suite = FakeStage2(np.random.default_rng(3), [0.0], [0.6], seconds_per_look=30.0)
    looks = Stage2Looks(looks=5, budget_s=50.0)
    verdicts, decision = judge_two_stage(_suspect_screen(), suite.remeasure, POLICY, looks, suite.clock)
    assert [look for look, _, _ in suite.asked] == [0, 1]
    assert decision.stage2 is not None
    assert decision.stage2.looks_started == 2 and decision.stage2.budget_spent
    (verdict,) = verdicts
    assert verdict.outcome is GateOutcome.CANNOT_JUDGE and "50 s budget was spent" in verdict.detail
    assert exit_code_for(verdicts, unconfirmed_reason(verdicts, POLICY)) is ExitCode.CANNOT_JUDGE
    # A budget never stops the first look: it is the fixed stage 2.
    suite = FakeStage2(np.random.default_rng(3), [0.0], [0.6], seconds_per_look=30.0)
    judge_two_stage(_suspect_screen(), suite.remeasure, POLICY, replace(looks, budget_s=1e-9), suite.clock)
    assert [look for look, _, _ in suite.asked] == [0]


def test_a_suspect_whose_later_look_fails_cannot_be_judged() -> None:
    suite = FakeStage2(np.random.default_rng(3), [0.0], [0.6])

    def remeasure(suspects: Sequence[PairedRounds], look: Look) -> list[PairedRounds | str]:
        if look.index == 1:
            return ["candidate: worker died"]
        return suite.remeasure(suspects, look)

    (verdict,), _ = judge_two_stage(_suspect_screen(), remeasure, POLICY, Stage2Looks(looks=3))
    assert verdict.outcome is GateOutcome.CANNOT_JUDGE
    assert verdict.detail.startswith(f"{NOT_REMEASURED} at look 2: candidate: worker died")


def test_looks_draw_their_own_side_orders() -> None:
    seeds = [look_order_seed(7, index) for index in range(5)]
    assert seeds[0] == 7  # the first look is the fixed stage 2, with the plan's seed
    assert len(set(seeds)) == 5
    assert look_order_seed(7, 2) == seeds[2] != look_order_seed(8, 2)  # derived from (seed, look) alone


@pytest.mark.slow
def test_null_suspects_are_confirmed_at_most_at_alpha_over_four_looks() -> None:
    """200 runs, each with one suspect whose fresh rounds come from the same distribution for base and
    candidate (per-round spread 0.5, so most stay open through all 4 looks), with no minimum effect (the
    p-value and the interval alone decide). Checked: at most alpha x 200 = 10 runs confirm their suspect,
    and most suspects took every look. (Measured once, not asserted: these 200 runs confirm 1 suspect; without
    the Bonferroni factor, p x 1 and 95% intervals at every look, they confirm 10, at the alpha limit.)"""
    policy = GatePolicy(bootstrap_resamples=300, min_effect=0.0)
    rng = np.random.default_rng(20261203)
    runs, confirmed, all_looks = 200, 0, 0
    for _ in range(runs):
        suite = FakeStage2(rng, [0.0], [0.5])
        _, decision = judge_two_stage(_suspect_screen(), suite.remeasure, policy, Stage2Looks(looks=4))
        confirmed += bool(decision.regressions)
        assert decision.stage2 is not None and decision.stage2.suspects is not None
        all_looks += decision.stage2.suspects["f0/python/w/time"].looks == 4
    assert confirmed <= policy.alpha * runs
    assert all_looks >= runs / 2


def test_the_summary_and_the_json_record_the_looks(tmp_path: Path) -> None:
    """``gate-comparisons.json`` holds stage 2's record (looks started, per suspect its looks, fresh rounds
    per look and how it ended); the summary has one line per suspect, only when stage 2 may take more than
    one look."""
    suite = FakeStage2(np.random.default_rng(3), [0.0], [0.6])
    verdicts, decision = judge_two_stage(_suspect_screen(), suite.remeasure, POLICY, Stage2Looks(looks=3))
    report = GateReport(
        mode="against", base="abc", candidate="def", comparisons=tuple(verdicts), stage2=decision.stage2
    )
    write_outputs(report, tmp_path)
    stored = json.loads((tmp_path / "gate-comparisons.json").read_text(encoding="utf-8"))["stage2"]
    assert (stored["max_looks"], stored["looks_started"], stored["budget_spent"]) == (3, 3, False)
    assert stored["suspects"]["f0/python/w/time"] == {"looks": 3, "rounds": [42, 21, 21], "ended": "open"}
    summary = (tmp_path / "gate-summary.md").read_text(encoding="utf-8")
    assert "Stage 2 took 3 of at most 3 look(s):" in summary
    assert "- `f0/python/w/time`: open after 3 looks of at most 3 (42 + 21 + 21 fresh rounds)" in summary
    suite = FakeStage2(np.random.default_rng(3), [0.0], [0.6])
    verdicts, decision = judge_two_stage(_suspect_screen(), suite.remeasure, POLICY)
    fixed = replace(report, comparisons=tuple(verdicts), stage2=decision.stage2)
    assert "Stage 2 took" not in render_summary(fixed, limit_bytes=JOB_SUMMARY_LIMIT_BYTES)
    assert fixed.to_json_dict()["stage2"]["max_looks"] == 1


def _gate_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    gate_command.register(parser.add_subparsers())
    return parser.parse_args(["gate", *argv])


def test_the_flags_choose_the_looks_and_the_budget() -> None:
    assert gate_command.gate_options(_gate_arguments([])).gate.stage2 == ONE_LOOK
    chosen = gate_command.gate_options(_gate_arguments(["--stage2-looks", "3", "--stage2-budget", "90"]))
    assert chosen.gate.stage2 == Stage2Looks(looks=3, budget_s=90.0)
    for bad in (["--stage2-looks", "0"], ["--stage2-looks", "21"], ["--stage2-budget", "0"]):
        with pytest.raises(SystemExit) as raised:
            _gate_arguments(bad)
        assert raised.value.code == 2, bad
