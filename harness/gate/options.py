"""The gate's measuring plan for a mode, with the ``--rounds`` and ``--no-memory`` adjustments applied."""

from __future__ import annotations

from dataclasses import replace

from harness.functions.pairs.workload_types import Mode
from harness.measure.engine import MeasurePlan, Purpose, plan_for


def plan_of(mode: Mode, *, rounds: int | None = None, memory: bool = True) -> MeasurePlan:
    """The mode's gate plan; ``rounds`` (if given) replaces its interleaved rounds, ``memory=False`` drops
    the allocation comparison."""
    plan = plan_for(Purpose.GATE, mode)
    if rounds:
        plan = plan.with_rounds(rounds)
    if not memory:
        plan = replace(plan, memory_calls=0)
    return plan
