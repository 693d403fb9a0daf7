"""The gate's measurement: two builds as two worker sources of the measurement engine.

Each build runs in its own timing workers (``python -m harness.worker``, that build's interpreter, in that
build's tree). Every (function, side, workload) key is a matchup of two sides, the same implementation on
the base and on the candidate build, timed by the engine's round scheduler (``harness.measure.engine``): loops
calibrated on both builds and shared, which build goes first alternating from one key to the next and from
one round to the next, so slow drifts of the machine hit both builds alike.

The gate's plans replace both workers by fresh processes every round. A process has its own memory layout
(ASLR, allocator state), which can shift its timings by a few percent for its whole life; with one process
per build that shift would be the same in every round and look like a real change. Fresh processes put the
between-process variation into the round-to-round spread, where the test sees it (the "right error term"
of docs/gate.md).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from harness.gate.build import Build
from harness.measure.engine import (
    Matchup,
    MatchupMemory,
    MatchupRounds,
    MeasurePlan,
    Side,
    WorkerCommand,
    WorkerPool,
    measure_memory,
    measure_rounds,
)
from harness.results import DIRECT_IMPLS, Impl

TargetKey = tuple[str, Impl, str]  # (function, impl, workload)


@dataclass(frozen=True)
class Target:
    function: str
    workload: str
    fallback: bool = False  # harness.functions.fallback routes it: its fallback side is compared too

    @property
    def impls(self) -> tuple[Impl, ...]:
        """The sides compared between the builds: Rust, Python and, where routed, the fallback."""
        return (*DIRECT_IMPLS, Impl.FALLBACK) if self.fallback else DIRECT_IMPLS


@dataclass
class Measurements:
    """What the two builds did, per target key. ``base`` / ``candidate`` lists are paired by round."""

    base_ns: dict[TargetKey, list[float]] = field(default_factory=dict)
    candidate_ns: dict[TargetKey, list[float]] = field(default_factory=dict)
    base_alloc_bytes: dict[TargetKey, float] = field(default_factory=dict)
    candidate_alloc_bytes: dict[TargetKey, float] = field(default_factory=dict)
    errors: dict[TargetKey, str] = field(default_factory=dict)  # why a key stopped being measured
    loops: dict[TargetKey, int] = field(default_factory=dict)


BASE = "base"
CANDIDATE = "candidate"


def matchup_of(key: TargetKey) -> Matchup:
    function, impl, workload = key
    return Matchup(function, workload, (Side(BASE, impl), Side(CANDIDATE, impl)))


def measure_interleaved(
    base: Build,
    candidate: Build,
    targets: Sequence[Target],
    plan: MeasurePlan,
    *,
    scratch: Path,
    progress: Callable[[str], None] = lambda message: None,
    keys: Sequence[TargetKey] | None = None,
) -> Measurements:
    """Times every target's sides (Rust, Python, the fallback where routed) on both builds, in the plan's
    interleaved rounds.

    ``keys`` measures exactly those (function, side, workload) keys instead (the gate's stage 2).
    """
    if keys is None:
        keys = [(t.function, impl, t.workload) for t in targets for impl in t.impls]
    matchups = [matchup_of(key) for key in keys]
    sources = {build_role: WorkerCommand(build.python, scratch, cwd=build.tree) for build_role, build in
               ((BASE, base), (CANDIDATE, candidate))}  # fmt: skip
    memory: list[MatchupMemory] = []
    with ExitStack() as stack:
        pool = WorkerPool(sources, plan.processes, stack)
        rounds = measure_rounds(pool, matchups, plan, seed=plan.order_seed, progress=progress)
        if plan.memory_calls:
            progress("allocations per call on both builds")
            pool.restart()
            memory = measure_memory(pool, matchups, plan)
        pool.close()
    return _measurements(keys, rounds, memory)


def time_one_side(build: Build, key: TargetKey, plan: MeasurePlan, *, scratch: Path) -> float:
    """Median per-call time of one side on one build, taken by the engine's rules (its calibration too).

    Raises the WorkerError of a failed request.
    """
    function, impl, workload = key
    side = Side(CANDIDATE, impl)
    with ExitStack() as stack:
        pool = WorkerPool(
            {CANDIDATE: WorkerCommand(build.python, scratch, cwd=build.tree)}, plan.processes, stack
        )
        [taken] = measure_rounds(pool, [Matchup(function, workload, (side,))], plan)
        pool.close()
    if taken.failure is not None:
        raise taken.failure.error
    return statistics.median(taken.values_ns[side])


def _measurements(
    keys: Sequence[TargetKey], rounds: Sequence[MatchupRounds], memory: Sequence[MatchupMemory]
) -> Measurements:
    """The engine's results by key. A key that failed in some round has unpaired values: only its error
    is kept."""
    measurements = Measurements()
    for key, taken in zip(keys, rounds, strict=True):
        base, candidate = taken.matchup.sides
        if base.impl in taken.loops:
            measurements.loops[key] = taken.loops[base.impl]
        if taken.failure is not None:
            measurements.errors[key] = f"{taken.failure.side.source}: {taken.failure.error}"
            continue
        measurements.base_ns[key] = list(taken.values_ns[base])
        measurements.candidate_ns[key] = list(taken.values_ns[candidate])
    for key, allocations in zip(keys, memory, strict=False):
        if allocations.failure is not None:
            continue  # memory is reported where both builds measured it
        base, candidate = allocations.matchup.sides
        base_bytes, candidate_bytes = conservative_pair(
            list(allocations.sides[base].alloc_bytes_per_call),
            list(allocations.sides[candidate].alloc_bytes_per_call),
        )
        measurements.base_alloc_bytes[key] = base_bytes
        measurements.candidate_alloc_bytes[key] = candidate_bytes
    return measurements


def conservative_pair(base: list[float], candidate: list[float]) -> tuple[float, float]:
    """The two builds' values that differ least in the direction of the apparent change.

    A growth is judged on (largest base, smallest candidate); a shrink on (smallest base, largest candidate);
    overlapping ranges give the same value twice, so no change is claimed.
    """
    if min(candidate) > max(base):
        return max(base), min(candidate)
    if max(candidate) < min(base):
        return min(base), max(candidate)
    middle = statistics.median([*base, *candidate])
    return middle, middle
