"""The one table of plans and what a plan refuses."""

from __future__ import annotations

import math

import pytest

from harness.functions.pairs.workload_types import Mode
from harness.measure.engine import PLANS, MeasurePlan, Purpose, plan_for


def test_the_table_has_a_plan_for_every_purpose_and_mode() -> None:
    assert set(PLANS) == {(purpose, mode) for purpose in Purpose for mode in Mode}


def test_gate_plans_are_fixed_rounds_in_fresh_processes_and_bench_plans_adaptive() -> None:
    for mode in Mode:
        gate, bench = plan_for(Purpose.GATE, mode), plan_for(Purpose.BENCH, mode)
        assert gate.min_rounds == gate.max_rounds == gate.rounds and gate.fresh_processes_every == 1
        assert gate.memory_passes == 2 and gate.values_per_round >= 3
        assert bench.min_rounds < bench.max_rounds and bench.fresh_processes_every == 0
        assert math.isfinite(bench.pair_budget_s)
    assert plan_for(Purpose.GATE, Mode.QUICK).rounds == 14  # the CI gate's rounds (docs/gate.md)


def test_with_rounds_fixes_the_round_count() -> None:
    plan = plan_for(Purpose.BENCH, Mode.DEFAULT).with_rounds(7)
    assert (plan.min_rounds, plan.max_rounds) == (7, 7)


@pytest.mark.parametrize(
    "fields",
    [
        {"min_rounds": 1, "max_rounds": 4},
        {"min_rounds": 4, "max_rounds": 3},
        {"min_rounds": 2, "max_rounds": 2, "min_time_s": math.nan},
        {"min_rounds": 2, "max_rounds": 2, "pair_budget_s": 0.0},
        {"min_rounds": 2, "max_rounds": 2, "values_per_round": 0},
        {"min_rounds": 2, "max_rounds": 2, "memory_passes": 0},
        {"min_rounds": 2, "max_rounds": 2, "fresh_processes_every": -1},
    ],
)
def test_a_plan_refuses_values_that_would_hang_or_mean_nothing(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must be|need"):
        MeasurePlan(**fields)  # type: ignore[arg-type]
