"""The memory pass: allocations per call of every side (and, for large workloads, peak resident growth).

Allocation tracking (memray) runs in workers of its own or after the timing rounds, never in a worker whose
values are still being timed: its hooks must not touch timed calls. Each side is measured
``plan.memory_passes`` times, the order of the sides reversed from one pass to the next (A B B A for two
passes), so a count that depends on the machine's state (the ports ``find_free_port`` finds taken) shows up
as a spread within one side rather than as a difference between sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.measure.engine.plans import MeasurePlan
from harness.measure.engine.pool import WorkerPool, WorkerT
from harness.measure.engine.rounds import Matchup, Side, side_order
from harness.measure.worker_client import WorkerError


@dataclass(frozen=True)
class SideAllocations:
    alloc_bytes_per_call: tuple[float, ...]  # one per pass
    allocs_per_call: tuple[float, ...]
    peak_rss_bytes: int | None = None  # growth of the resident set in a fresh process; None: not measured


@dataclass(frozen=True)
class MatchupMemory:
    matchup: Matchup
    sides: Mapping[Side, SideAllocations]  # empty if the pass failed
    failure: str | None = None  # why it was not measured


def _measure_one(
    pool: WorkerPool[WorkerT], matchup: Matchup, plan: MeasurePlan, *, peak_rss: bool
) -> MatchupMemory:
    from harness.measure.memory import MemoryMeasurementError  # noqa: PLC0415  (memray: not at the command line's start)

    passes: dict[Side, list[tuple[float, float]]] = {side: [] for side in matchup.sides}
    peaks: dict[Side, int | None] = dict.fromkeys(matchup.sides)
    try:
        for pass_index in range(plan.memory_passes):
            for side in side_order(matchup.sides, pass_index):
                client = pool.client(side.source)
                passes[side].append(
                    client.memory(matchup.function, side.impl, matchup.workload, plan.memory_calls)
                )
        for side in matchup.sides if peak_rss else ():
            peaks[side] = pool.peak_rss_bytes(side.source, matchup.function, side.impl, matchup.workload)
    except (WorkerError, MemoryMeasurementError) as error:
        pool.revive_dead()
        return MatchupMemory(matchup, {}, str(error))
    return MatchupMemory(
        matchup,
        {
            side: SideAllocations(
                tuple(alloc_bytes for alloc_bytes, _ in values),
                tuple(allocs for _, allocs in values),
                peaks[side],
            )
            for side, values in passes.items()
        },
    )


def measure_memory(
    pool: WorkerPool[WorkerT], matchups: Sequence[Matchup], plan: MeasurePlan, *, peak_rss: bool = False
) -> list[MatchupMemory]:
    """Allocations of every side of every matchup, in the first process of each source; ``peak_rss`` adds
    each side's peak resident growth (a process per side: the bench's large workloads)."""
    return [_measure_one(pool, matchup, plan, peak_rss=peak_rss) for matchup in matchups]
