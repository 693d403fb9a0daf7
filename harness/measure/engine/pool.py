"""Worker sources and the pool of worker processes the round scheduler drives.

A *source* says how to start a timing worker: which interpreter, in which tree, with which modules as the
sides (``WorkerCommand``). The bench has one source (both sides in one worker); the gate has two (the base
build and the candidate build). The pool keeps ``processes`` running workers per source, replaces dead ones,
restarts them all on request, and decides the warm-ups, so every caller warms up the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from harness.functions.registry import DEFAULT_MODULES
from harness.measure.worker_client import TimeResponse, WorkerClient
from harness.results import Impl


class TimingWorker(Protocol):
    """What the engine asks of a worker (``harness.measure.worker_client.WorkerClient``; tests fake it)."""

    @property
    def alive(self) -> bool: ...

    @property
    def pid(self) -> int: ...

    def time(
        self,
        function: str,
        *,
        impl: Impl,
        workload: str,
        loops: int | None,
        values: int,
        warmups: int,
        min_time_s: float,
    ) -> TimeResponse: ...

    def memory(self, function: str, impl: Impl, workload: str, calls: int) -> tuple[float, float]: ...

    def close(self) -> None: ...

    def kill(self) -> None: ...


WorkerT = TypeVar("WorkerT", bound=TimingWorker)
WorkerT_co = TypeVar("WorkerT_co", bound=TimingWorker, covariant=True)


class WorkerSource(Protocol[WorkerT_co]):
    def start(self, owner: ExitStack, slot: int) -> WorkerT_co:
        """A new worker for process slot ``slot``, its kill handed to ``owner`` from its spawn on."""
        ...

    def peak_rss_bytes(self, function: str, impl: Impl, workload: str) -> int:
        """Peak resident growth of the side's call, in a fresh process of this source."""
        ...


@dataclass(frozen=True)
class WorkerCommand:
    """A real worker: ``python -m harness.worker`` under ``python``, in the tree ``cwd``."""

    python: Path
    scratch: Path
    cwd: Path | None = None
    seed: int = 0
    modules: Mapping[Impl, str] = field(default_factory=lambda: dict(DEFAULT_MODULES))

    def start(self, owner: ExitStack, slot: int) -> WorkerClient:
        del slot  # every slot starts alike; processor affinity is set by the pool (WorkerPool.pin)
        return WorkerClient(
            self.python, self.scratch, seed=self.seed, modules=self.modules, cwd=self.cwd, owner=owner
        )

    def peak_rss_bytes(self, function: str, impl: Impl, workload: str) -> int:
        from harness.measure.memory import measure_peak_rss  # noqa: PLC0415  (memray: not at the command line's start)

        return measure_peak_rss(
            self.python,
            function,
            impl,
            workload,
            self.scratch,
            seed=self.seed,
            cwd=self.cwd,
            module=self.modules.get(impl),
        )


@dataclass
class _Process(Generic[WorkerT]):
    client: WorkerT
    target: tuple[str, str] | None = None  # the (function, workload) it ran last
    warm: set[Impl] = field(default_factory=set)  # sides of that target it has run since


class WorkerPool(Generic[WorkerT]):
    """``processes`` workers per source, all killed by ``owner`` however the caller ends."""

    def __init__(
        self,
        sources: Mapping[str, WorkerSource[WorkerT]],
        processes: int,
        owner: ExitStack,
        *,
        set_affinity: Callable[[int, set[int]], None] = os.sched_setaffinity,
    ) -> None:
        if processes < 1 or not sources:
            raise ValueError("a worker pool needs at least one source and one process per source")
        self._sources = dict(sources)
        self._owner = owner
        self._set_affinity = set_affinity
        self.processes = processes
        self._slots = {name: [self._start(name, slot) for slot in range(processes)] for name in sources}

    def _start(self, source: str, slot: int) -> _Process[WorkerT]:
        return _Process(self._sources[source].start(self._owner, slot))

    def client(self, source: str, slot: int = 0) -> WorkerT:
        return self._slots[source][slot].client

    def time(
        self,
        source: str,
        slot: int,
        function: str,
        impl: Impl,
        workload: str,
        *,
        loops: int | None,
        values: int,
        warmups: int,
        min_time_s: float,
    ) -> TimeResponse:
        """One ``time`` request; ``warmups`` are sent only if the process has not run this side of this
        target since it started or since it last ran another target (whose state may have evicted it)."""
        process = self._slots[source][slot]
        if process.target != (function, workload):
            process.target, process.warm = (function, workload), set()
        response = process.client.time(
            function,
            impl=impl,
            workload=workload,
            loops=loops,
            values=values,
            warmups=0 if impl in process.warm else warmups,
            min_time_s=min_time_s,
        )
        process.warm.add(impl)
        return response

    def pin(self, slot: int, turn: int) -> None:
        """Pins slot ``slot`` of source i to allowed processor (i + turn) mod n: base and candidate on
        processors of their own, swapped every turn, so neither keeps the core the harness or a neighbour
        favours. A worker that has just died is left to ``revive``."""
        processors = sorted(os.sched_getaffinity(0))
        for index, processes in enumerate(self._slots.values()):
            processor = processors[(index + turn) % len(processors)]
            try:
                self._set_affinity(processes[slot].client.pid, {processor})
            except ProcessLookupError:
                continue

    def peak_rss_bytes(self, source: str, function: str, impl: Impl, workload: str) -> int:
        return self._sources[source].peak_rss_bytes(function, impl, workload)

    def revive(self, source: str, slot: int) -> None:
        """A failed request leaves a worker usable; a dead one is replaced so other targets go on."""
        process = self._slots[source][slot]
        if not process.client.alive:
            process.client.kill()
            self._slots[source][slot] = self._start(source, slot)

    def revive_dead(self) -> None:
        for source, processes in self._slots.items():
            for slot in range(len(processes)):
                self.revive(source, slot)

    def restart(self) -> None:
        """Every worker replaced by a fresh process (a new memory layout: docs/gate.md)."""
        self.close()
        self._slots = {
            name: [self._start(name, slot) for slot in range(self.processes)] for name in self._slots
        }

    def close(self) -> None:
        for processes in self._slots.values():
            for process in processes:
                process.client.close()
