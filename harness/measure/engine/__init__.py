"""The one measurement engine of bench, baseline, gate, calibrate and experiment.

- ``plans``: ``MeasurePlan`` (its interference options ``SideOrder``, ``RoundStatistic``) and ``PLANS``,
  the one table of plans, keyed by (``Purpose``, ``Mode``);
- ``pool``: worker sources (``WorkerCommand``) and ``WorkerPool``, which also decides the warm-ups;
- ``rounds``: ``Side``, ``Matchup``, the calibration rule and the round scheduler ``measure_rounds``;
- ``memory_pass``: ``measure_memory``, allocations per call and peak resident growth.

docs/interfaces.md (section "The measurement engine") describes the rules.
"""

from harness.measure.engine.memory_pass import MatchupMemory, SideAllocations, measure_memory
from harness.measure.engine.plans import PLANS, MeasurePlan, Purpose, RoundStatistic, SideOrder, plan_for
from harness.measure.engine.pool import TimingWorker, WorkerCommand, WorkerPool, WorkerSource
from harness.measure.engine.rounds import (
    CALIBRATIONS,
    Matchup,
    MatchupRounds,
    Side,
    SideFailure,
    calibrate_loops,
    measure_rounds,
    side_order,
)

__all__ = [
    "CALIBRATIONS",
    "PLANS",
    "Matchup",
    "MatchupMemory",
    "MatchupRounds",
    "MeasurePlan",
    "Purpose",
    "RoundStatistic",
    "Side",
    "SideAllocations",
    "SideFailure",
    "SideOrder",
    "TimingWorker",
    "WorkerCommand",
    "WorkerPool",
    "WorkerSource",
    "calibrate_loops",
    "measure_memory",
    "measure_rounds",
    "plan_for",
    "side_order",
]
