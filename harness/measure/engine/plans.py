"""How hard to measure: the one plan type and the one table of plans, keyed by (purpose, mode).

The bench and the gate ask different questions of the same machinery, so their figures differ:

- the bench estimates a speedup (Python over Rust) to a target precision: adaptive rounds, one value each,
  rotating over a few long-lived worker processes;
- the gate tests for a change between two builds with a calibrated false-alarm rate: a fixed number of
  rounds, a round's value the median of a few values, fresh worker processes every round (the gate's
  experiments, docs/gate.md, measured its error rates with exactly these figures).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from harness.functions.pairs.workload_types import Mode
from harness.stats import TARGET_RELATIVE_REACH


class Purpose(StrEnum):
    """What a measurement is for: the first half of a plan's key."""

    BENCH = "bench"  # speedups of one tree's sides (Rust over Python)
    GATE = "gate"  # changes of each side between two builds (gate, calibrate, experiment)


class SideOrder(StrEnum):
    """How the sides of a matchup are ordered within a round."""

    ALTERNATE = "alternate"  # A B, then B A: reversed from one cycle and one matchup to the next
    RANDOM = "random"  # drawn per round and matchup from the measurement's seed (Abedi & Brecht)


class RoundStatistic(StrEnum):
    """How a round's ``values_per_round`` values become the round's one value."""

    MEDIAN = "median"
    MIN = "min"  # the least disturbed value: interference only ever adds time


@dataclass(frozen=True)
class MeasurePlan:
    """How hard to measure: rounds, worker processes, values, warm-ups, the memory pass.

    ``min_rounds == max_rounds`` is a fixed number of rounds (the gate's); otherwise rounds are added, one
    cycle over the processes at a time, from ``min_rounds`` until the asked-for ratios are precise enough,
    ``pair_budget_s`` is spent or ``max_rounds`` is reached.
    """

    min_rounds: int
    max_rounds: int
    processes: int = 1  # worker processes per source that the rounds rotate over
    fresh_processes_every: int = 0  # rounds between restarts of every worker process (0 = never)
    values_per_round: int = 1  # a round's value is the median of these
    warmups: int = 1  # warm-up values before a side's first request in a process (docs/interfaces.md)
    min_time_s: float = 0.01  # loop calibration target for one value
    pair_budget_s: float = math.inf  # stop adding rounds once a call has taken this long
    # Stop once both ends of every asked-for ratio's interval lie this close to it (the farther end decides).
    target_relative_reach: float = TARGET_RELATIVE_REACH
    bootstrap_resamples: int = 2000
    memory_calls: int = 20  # calls per allocation measurement; 0 skips the memory pass
    memory_passes: int = 1  # allocation measurements per side, in A B / B A order
    # Interference options (docs/gate.md, "Measuring beside a neighbour"): all off by default, as measured.
    side_order: SideOrder = SideOrder.ALTERNATE
    order_seed: int = 0  # the seed of the random order (each round's order is in ``MatchupRounds.orders``)
    # Pin each source's worker to a processor of its own, the processors swapped between sources every round.
    affinity: bool = False
    round_statistic: RoundStatistic = RoundStatistic.MEDIAN

    def __post_init__(self) -> None:
        if self.processes < 1 or self.min_rounds < 2 or self.max_rounds < self.min_rounds:
            raise ValueError("need processes >= 1, min_rounds >= 2 and max_rounds >= min_rounds")
        positive = (self.min_time_s, self.pair_budget_s, self.target_relative_reach)
        if self.warmups < 0 or not all(value > 0 for value in positive):  # `not >` also refuses nan
            raise ValueError("warmups must be >= 0; min_time_s, pair_budget_s, target_relative_reach > 0")
        if self.values_per_round < 1 or self.bootstrap_resamples < 1 or self.memory_passes < 1:
            raise ValueError("values_per_round, bootstrap_resamples and memory_passes must be >= 1")
        if self.fresh_processes_every < 0 or self.memory_calls < 0:
            raise ValueError("fresh_processes_every and memory_calls must be >= 0")

    @property
    def rounds(self) -> int:
        """The most rounds a measurement takes: all of them, for a fixed plan."""
        return self.max_rounds

    def with_rounds(self, rounds: int) -> MeasurePlan:
        """This plan with exactly ``rounds`` rounds (``--rounds``, the gate's stage 2)."""
        return replace(self, min_rounds=rounds, max_rounds=rounds)


def _gate_plan(rounds: int, *, values_per_round: int, warmups: int, min_time_s: float) -> MeasurePlan:
    return MeasurePlan(
        min_rounds=rounds,
        max_rounds=rounds,
        fresh_processes_every=1,
        values_per_round=values_per_round,
        warmups=warmups,
        min_time_s=min_time_s,
        memory_calls=20,
        memory_passes=2,  # A B B A: a count that differs between passes of one build is no change
    )


def _bench_plan(
    processes: int, min_rounds: int, max_rounds: int, *, warmups: int, min_time_s: float, budget_s: float
) -> MeasurePlan:
    return MeasurePlan(
        min_rounds=min_rounds,
        max_rounds=max_rounds,
        processes=processes,
        warmups=warmups,
        min_time_s=min_time_s,
        pair_budget_s=budget_s,
        memory_calls=3,
    )


# The bench's figures keep `make bench` (default) within 10 minutes with the build on a busy 2-core machine
# (the default budget went from 6 to 5 s per pair when the fallback became a third side of each round,
# and to 4 s when a fresh clone's `make bench` measured 11m55s with the build: 604 s of bench, 110 s set-up);
# the gate's are those its false-alarm and detection rates were measured with (docs/gate.md).
PLANS: Mapping[tuple[Purpose, Mode], MeasurePlan] = {
    (Purpose.BENCH, Mode.QUICK): _bench_plan(2, 4, 10, warmups=1, min_time_s=0.01, budget_s=1.0),
    (Purpose.BENCH, Mode.DEFAULT): _bench_plan(3, 12, 60, warmups=1, min_time_s=0.04, budget_s=4.0),
    (Purpose.BENCH, Mode.FULL): _bench_plan(4, 20, 120, warmups=2, min_time_s=0.1, budget_s=30.0),
    (Purpose.GATE, Mode.QUICK): _gate_plan(14, values_per_round=3, warmups=1, min_time_s=0.01),
    (Purpose.GATE, Mode.DEFAULT): _gate_plan(20, values_per_round=3, warmups=1, min_time_s=0.02),
    (Purpose.GATE, Mode.FULL): _gate_plan(30, values_per_round=5, warmups=2, min_time_s=0.05),
}


def plan_for(purpose: Purpose, mode: Mode) -> MeasurePlan:
    return PLANS[purpose, mode]
