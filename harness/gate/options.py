"""What ``gate``, ``calibrate`` and ``experiment`` measure and how hard: the mode's plan, as typed options."""

from __future__ import annotations

from dataclasses import replace

from harness.gate.measure import DEFAULT_PLAN, FULL_PLAN, QUICK_PLAN, MeasurePlan
from harness.pairs.workload_types import Mode

_PLANS = {Mode.QUICK: QUICK_PLAN, Mode.DEFAULT: DEFAULT_PLAN, Mode.FULL: FULL_PLAN}


def plan_of(mode: Mode, *, rounds: int | None = None, memory: bool = True) -> MeasurePlan:
    """The mode's plan; ``rounds`` (if given) replaces its interleaved rounds, ``memory=False`` drops the
    allocation comparison."""
    plan = _PLANS[mode]
    if rounds:
        plan = replace(plan, rounds=rounds)
    if not memory:
        plan = replace(plan, memory_calls=0)
    return plan
