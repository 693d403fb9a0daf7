"""The round scheduler, ``measure_rounds``, and the one calibration rule: how every timing is taken.

A *side* is an implementation as one worker source runs it: the bench compares ``Rust`` and ``Python`` of
one source, the gate the same implementation on two sources (base and candidate builds). A *matchup* is
one (function, workload) and the sides timed against each other on it. For each matchup:

- **Calibration** (``calibrate_loops``): every side is calibrated ``CALIBRATIONS`` times, interleaved, in the
  first process of its source (pyperf's rule: double the loops until one value lasts ``min_time_s``), and
  the largest count is kept per implementation. A load spike stops one doubling early; the larger count keeps
  a side's values long. Sides of the same implementation (one function on two builds) share the count, so a
  change in calibration cannot pass for a change in speed.
- **A round** takes one value (the median, or with ``round_statistic`` min the least, of
  ``values_per_round``) of every side, back to back in process ``round % processes`` of each source. The
  order of the sides is reversed from one cycle over the processes to the next and from one matchup to the
  next (A B, B A), so drift hits every side alike, or (``side_order`` random) drawn from the seed per round
  and matchup; the order is recorded per round. With ``affinity`` each source's worker of the round is
  pinned to a processor of its own, the processors rotated between sources every round (``WorkerPool.pin``).
- **Warm-ups** precede a side's first request in a process since the process started or last ran another
  target (``WorkerPool.time``); their values are kept apart and never enter the statistics.
- **Fresh processes**: every ``fresh_processes_every`` rounds all workers are replaced (0: never).
- **Stop**: after ``min_rounds``, at the end of each cycle over the processes, once every asked-for ratio's
  95% interval reaches no farther than ``target_relative_reach`` from its value, the budget is spent, or
  ``max_rounds`` is reached (``min_rounds == max_rounds``: fixed rounds).

A side whose request fails ends its matchup's measuring (the failure is recorded, a dead worker replaced);
the other matchups go on.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from harness.measure.engine.plans import MeasurePlan, RoundStatistic, SideOrder
from harness.measure.engine.pool import WorkerPool, WorkerT
from harness.measure.worker_client import TimeResponse, WorkerError
from harness.results import Impl, Speedup
from harness.stats import paired_speedup

CALIBRATIONS = 2  # per side and matchup: the larger count is kept


@dataclass(frozen=True)
class Side:
    """One implementation as one worker source runs it."""

    source: str
    impl: Impl

    def __str__(self) -> str:
        return f"{self.source}/{self.impl}"


Ratio = tuple[Side, Side]  # (numerator, denominator) of a paired per-round ratio


@dataclass(frozen=True)
class Matchup:
    """One (function, workload) and the sides timed against each other on it.

    ``stop_on``: the ratios whose intervals the adaptive stop waits for (the bench's Python / Rust).
    """

    function: str
    workload: str
    sides: tuple[Side, ...]
    stop_on: tuple[Ratio, ...] = ()

    def __post_init__(self) -> None:
        if not self.sides or len(set(self.sides)) != len(self.sides):
            raise ValueError(f"{self.function}[{self.workload}]: needs distinct sides, got {self.sides}")
        if any(side not in self.sides for ratio in self.stop_on for side in ratio):
            raise ValueError(f"{self.function}[{self.workload}]: a ratio names a side it does not time")


@dataclass(frozen=True)
class SideFailure:
    side: Side
    error: WorkerError


@dataclass(frozen=True)
class MatchupRounds:
    """What ``measure_rounds`` took of one matchup; the values of every side are paired by round."""

    matchup: Matchup
    loops: Mapping[Impl, int]
    values_ns: Mapping[Side, tuple[float, ...]]  # per call; one per complete round
    warmup_values_ns: Mapping[Side, tuple[float, ...]]
    orders: tuple[tuple[Side, ...], ...]  # the order the sides ran in, per complete round
    ratios: Mapping[Ratio, Speedup]  # ``stop_on``'s intervals at the last stop check
    failure: SideFailure | None = None


@dataclass
class _Progress:
    matchup: Matchup
    loops: dict[Impl, int] = field(default_factory=dict)
    values_ns: dict[Side, list[float]] = field(default_factory=dict)
    warmup_values_ns: dict[Side, list[float]] = field(default_factory=dict)
    orders: list[tuple[Side, ...]] = field(default_factory=list)
    ratios: dict[Ratio, Speedup] = field(default_factory=dict)
    failure: SideFailure | None = None

    def frozen(self) -> MatchupRounds:
        sides = self.matchup.sides
        return MatchupRounds(
            matchup=self.matchup,
            loops=dict(self.loops),
            values_ns={side: tuple(self.values_ns.get(side, ())) for side in sides},
            warmup_values_ns={side: tuple(self.warmup_values_ns.get(side, ())) for side in sides},
            orders=tuple(self.orders),
            ratios=dict(self.ratios),
            failure=self.failure,
        )


def side_order(sides: tuple[Side, ...], turn: int) -> tuple[Side, ...]:
    """A B on even turns, B A on odd ones (A B C / C B A with a third side)."""
    return sides if turn % 2 == 0 else sides[::-1]


def random_side_order(sides: tuple[Side, ...], seed: int, round_index: int, matchup: int) -> tuple[Side, ...]:
    """A shuffle drawn from (seed, round, matchup) alone, so a run's orders can be drawn again."""
    shuffled = list(sides)
    random.Random(f"{seed}:{round_index}:{matchup}").shuffle(shuffled)
    return tuple(shuffled)


def _order_of(
    plan: MeasurePlan, sides: tuple[Side, ...], *, seed: int, round_index: int, cycle: int, matchup: int
) -> tuple[Side, ...]:
    if plan.side_order is SideOrder.RANDOM:
        return random_side_order(sides, seed, round_index, matchup)
    return side_order(sides, cycle + matchup)


def round_value(values_ns: Sequence[float], statistic: RoundStatistic) -> float:
    """A round's one value from its ``values_per_round`` values."""
    return min(values_ns) if statistic is RoundStatistic.MIN else statistics.median(values_ns)


def _request(
    pool: WorkerPool[WorkerT],
    state: _Progress,
    side: Side,
    slot: int,
    *,
    loops: int | None,
    plan: MeasurePlan,
    values: int,
    warmups: int,
) -> TimeResponse | None:
    """One ``time`` request; None (the failure recorded, a dead worker replaced) if it failed."""
    try:
        return pool.time(
            side.source,
            slot,
            state.matchup.function,
            side.impl,
            state.matchup.workload,
            loops=loops,
            values=values,
            warmups=warmups,
            min_time_s=plan.min_time_s,
        )
    except WorkerError as error:
        state.failure = SideFailure(side, error)
        pool.revive(side.source, slot)
        return None


def calibrate_loops(pool: WorkerPool[WorkerT], state: _Progress, plan: MeasurePlan) -> None:
    """The calibration rule (module docstring): every side ``CALIBRATIONS`` times, the largest count kept
    per implementation."""
    for _ in range(CALIBRATIONS):
        for side in state.matchup.sides:
            response = _request(pool, state, side, 0, loops=None, plan=plan, values=1, warmups=0)
            if response is None:
                return
            state.loops[side.impl] = max(state.loops.get(side.impl, 1), response.loops)


def _time_round(
    pool: WorkerPool[WorkerT], state: _Progress, plan: MeasurePlan, slot: int, order: tuple[Side, ...]
) -> None:
    """One value of every side; kept only if every side gave one, so the sides stay paired by round."""
    responses: dict[Side, TimeResponse] = {}
    for side in order:
        loops = state.loops[side.impl]
        response = _request(
            pool,
            state,
            side,
            slot,
            loops=loops,
            plan=plan,
            values=plan.values_per_round,
            warmups=plan.warmups,
        )
        if response is None:
            return
        responses[side] = response
    for side, response in responses.items():
        state.values_ns.setdefault(side, []).append(round_value(response.values_ns, plan.round_statistic))
        state.warmup_values_ns.setdefault(side, []).extend(response.warmup_values_ns)
    state.orders.append(order)


def _precise_enough(state: _Progress, plan: MeasurePlan, seed: int) -> bool:
    """Each ``stop_on`` ratio's interval, stored; True once all reach no farther than the target."""
    for numerator, denominator in state.matchup.stop_on:
        state.ratios[numerator, denominator] = paired_speedup(
            state.values_ns[numerator], state.values_ns[denominator], seed, plan.bootstrap_resamples
        )
    return all(ratio.relative_reach <= plan.target_relative_reach for ratio in state.ratios.values())


def measure_rounds(
    pool: WorkerPool[WorkerT],
    matchups: Sequence[Matchup],
    plan: MeasurePlan,
    *,
    seed: int = 0,
    progress: Callable[[str], None] = lambda message: None,
    clock: Callable[[], float] = time.monotonic,
) -> list[MatchupRounds]:
    """Calibrates and times every matchup in interleaved rounds (module docstring); one result each."""
    started_s = clock()
    states = [_Progress(matchup) for matchup in matchups]
    progress(f"calibrating loops of {len(states)} targets on every side")
    for state in states:
        calibrate_loops(pool, state, plan)
    round_index = 0
    while any(state.failure is None for state in states):
        if round_index and plan.fresh_processes_every and round_index % plan.fresh_processes_every == 0:
            pool.restart()
        progress(f"round {round_index + 1}/{plan.max_rounds}")
        slot, cycle = round_index % pool.processes, round_index // pool.processes
        if plan.affinity:
            pool.pin(slot, round_index)
        for index, state in enumerate(states):
            if state.failure is None:
                order = _order_of(
                    plan, state.matchup.sides, seed=seed, round_index=round_index, cycle=cycle, matchup=index
                )
                _time_round(pool, state, plan, slot, order)
        round_index += 1
        if round_index < plan.min_rounds or round_index % pool.processes:
            continue
        live = [state for state in states if state.failure is None]
        precise = all([_precise_enough(state, plan, seed) for state in live])  # every ratio stored
        if precise or round_index >= plan.max_rounds or clock() - started_s >= plan.pair_budget_s:
            break
    return [state.frozen() for state in states]
