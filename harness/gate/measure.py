"""Interleaved measurement of two builds: rounds of A B / B A on every pair side and workload.

Each build runs in its own timing worker (``python -m harness.worker``, that build's interpreter, in that
build's tree). Within a round, every (function, side, workload) is timed on both builds back to back, and
which build goes first alternates from one target to the next and from one round to the next, so slow
drifts of the machine hit both builds alike.

By default both workers are replaced by fresh processes every round. A process has its own memory layout
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
from harness.results import Impl
from harness.worker_client import WorkerClient, WorkerError

TargetKey = tuple[str, Impl, str]  # (function, impl, workload)


@dataclass(frozen=True)
class Target:
    function: str
    workload: str


@dataclass(frozen=True)
class MeasurePlan:
    """How hard to measure. ``quick`` is the CI gate's plan."""

    rounds: int = 15
    values_per_round: int = 3  # the round's value is their median
    warmups: int = 1  # per request: the other targets ran in between
    min_time_s: float = 0.01  # loop calibration target for one value
    fresh_processes_every: int = 1  # rounds between worker restarts (0 = never restart)
    memory_calls: int = 20  # calls per allocation measurement; 0 skips memory

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.values_per_round < 1 or self.warmups < 0 or self.min_time_s <= 0:
            raise ValueError("need rounds >= 1, values_per_round >= 1, warmups >= 0, min_time_s > 0")
        if self.fresh_processes_every < 0 or self.memory_calls < 0:
            raise ValueError("fresh_processes_every and memory_calls must be >= 0")


QUICK_PLAN = MeasurePlan(rounds=14, values_per_round=3, warmups=1, min_time_s=0.01)
DEFAULT_PLAN = MeasurePlan(rounds=20, values_per_round=3, warmups=1, min_time_s=0.02)
FULL_PLAN = MeasurePlan(rounds=30, values_per_round=5, warmups=2, min_time_s=0.05)


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


class _Workers:
    """One worker per role (base, candidate); replaced by fresh processes on request."""

    def __init__(self, builds: dict[str, Build], scratch: Path, stack: ExitStack) -> None:
        self.builds = builds
        self._scratch = scratch
        self._stack = stack
        self.clients: dict[str, WorkerClient] = {}

    def restart(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients = {role: self._start(build) for role, build in self.builds.items()}

    def revive(self, role: str) -> None:
        """A failed request leaves a worker usable; a dead worker is replaced so other keys go on."""
        if not self.clients[role].alive:
            self.clients[role].kill()
            self.clients[role] = self._start(self.builds[role])

    def _start(self, build: Build) -> WorkerClient:
        # Owned by the stack from its spawn on (kill() is a no-op once close() has run).
        return WorkerClient(build.python, self._scratch, cwd=build.tree, owner=self._stack)


def _round_value(values_ns: Sequence[float]) -> float:
    return statistics.median(values_ns)


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
    """Times every target on both sides (Rust, Python) on both builds, ``plan.rounds`` interleaved rounds.

    ``keys`` measures exactly those (function, side, workload) keys instead (the gate's stage 2).
    """
    measurements = Measurements()
    if keys is None:
        keys = [(t.function, impl, t.workload) for t in targets for impl in (Impl.RUST, Impl.PYTHON)]
    with ExitStack() as stack:
        workers = _Workers({BASE: base, CANDIDATE: candidate}, scratch, stack)
        workers.restart()
        progress(f"calibrating loops of {len(keys)} targets on the candidate")
        for key in keys:
            _calibrate(workers, key, plan, measurements)
        for round_index in range(plan.rounds):
            if (
                round_index > 0
                and plan.fresh_processes_every
                and round_index % plan.fresh_processes_every == 0
            ):
                workers.restart()
            progress(f"round {round_index + 1}/{plan.rounds}")
            for target_index, key in enumerate(keys):
                if key in measurements.errors:
                    continue
                order = (BASE, CANDIDATE) if (round_index + target_index) % 2 == 0 else (CANDIDATE, BASE)
                _time_round(workers, order, key, plan, measurements)
        if plan.memory_calls:
            progress("allocations per call on both builds")
            workers.restart()
            for key in keys:
                _measure_memory(workers, key, plan, measurements)
        for client in workers.clients.values():
            client.close()
    # A key that failed in some round has unpaired values: keep only fully paired keys.
    for key in list(measurements.base_ns):
        if key in measurements.errors:
            measurements.base_ns.pop(key, None)
            measurements.candidate_ns.pop(key, None)
    return measurements


def _calibrate(workers: _Workers, key: TargetKey, plan: MeasurePlan, measurements: Measurements) -> None:
    function, impl, workload = key
    try:
        response = workers.clients[CANDIDATE].time(
            function,
            impl=impl,
            workload=workload,
            loops=None,
            values=1,
            warmups=0,
            min_time_s=plan.min_time_s,
        )
    except WorkerError as error:
        measurements.errors[key] = f"{CANDIDATE}: {error}"
        workers.revive(CANDIDATE)
        return
    measurements.loops[key] = response.loops


def _time_round(
    workers: _Workers, order: tuple[str, str], key: TargetKey, plan: MeasurePlan, measurements: Measurements
) -> None:
    function, impl, workload = key
    values: dict[str, float] = {}
    for role in order:
        try:
            response = workers.clients[role].time(
                function,
                impl=impl,
                workload=workload,
                loops=measurements.loops[key],
                values=plan.values_per_round,
                warmups=plan.warmups,
                min_time_s=plan.min_time_s,
            )
        except WorkerError as error:
            measurements.errors[key] = f"{role}: {error}"
            workers.revive(role)
            return
        values[role] = _round_value(response.values_ns)
    measurements.base_ns.setdefault(key, []).append(values[BASE])
    measurements.candidate_ns.setdefault(key, []).append(values[CANDIDATE])


def _measure_memory(workers: _Workers, key: TargetKey, plan: MeasurePlan, measurements: Measurements) -> None:
    """Two passes per build, alternating (A B B A): a count that differs between passes of the same build
    (a function whose allocations depend on the machine's state, like the ports it finds taken) must not
    pass for a change. The conservative pair is kept: the closest values of the two builds."""
    function, impl, workload = key
    results: dict[str, list[float]] = {BASE: [], CANDIDATE: []}
    for role in (BASE, CANDIDATE, CANDIDATE, BASE):
        try:
            alloc_bytes, _ = workers.clients[role].memory(function, impl, workload, plan.memory_calls)
        except WorkerError:
            workers.revive(role)
            return  # memory is reported where both builds measured it
        results[role].append(alloc_bytes)
    base, candidate = conservative_pair(results[BASE], results[CANDIDATE])
    measurements.base_alloc_bytes[key] = base
    measurements.candidate_alloc_bytes[key] = candidate


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
