"""Fake timing workers for the engine's tests: every request is logged, every answer scripted."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from harness.measure.worker_client import TimeResponse, WorkerError
from harness.results import Impl


@dataclass(frozen=True)
class Request:
    source: str
    slot: int
    generation: int  # 1 for the slot's first process, 2 for its first replacement...
    op: str  # "time" or "memory"
    function: str
    impl: Impl
    workload: str
    loops: int | None  # None: a calibration
    warmups: int


def _constant_ns(impl: Impl, index: int) -> float:
    del index
    return 3_000.0 if impl is Impl.PYTHON else 1_000.0


@dataclass
class FakeSource:
    """A worker source whose workers answer at once; ``log`` is shared, so tests see the interleaving."""

    name: str
    log: list[Request]
    value_ns: Callable[[Impl, int], float] = _constant_ns  # (impl, n-th timed value of that impl here)
    calibrated_loops: dict[Impl, list[int]] = field(default_factory=dict)  # answers, in order
    fails: Callable[[Request], bool] = lambda request: False  # a failing request also kills its worker
    starts: int = 0
    generations: dict[int, int] = field(default_factory=dict)
    timed: dict[Impl, int] = field(default_factory=dict)

    def start(self, owner: ExitStack, slot: int) -> FakeWorker:
        del owner
        self.starts += 1
        self.generations[slot] = self.generations.get(slot, 0) + 1
        return FakeWorker(self, slot, self.generations[slot])

    def peak_rss_bytes(self, function: str, impl: Impl, workload: str) -> int:
        self.log.append(Request(self.name, 0, 0, "peak_rss", function, impl, workload, None, 0))
        return 4096


class FakeWorker:
    def __init__(self, source: FakeSource, slot: int, generation: int) -> None:
        self._source = source
        self._slot = slot
        self._generation = generation
        self.alive = True
        self.pid = 1000 * source.starts + slot  # unique per started worker; only the affinity tests read it

    def _logged(self, request: Request) -> None:
        self._source.log.append(request)
        if self._source.fails(request):
            self.alive = False
            raise WorkerError("WorkerDied", f"{self._source.name} failed on purpose")

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
    ) -> TimeResponse:
        del min_time_s
        source = self._source
        self._logged(
            Request(
                source.name, self._slot, self._generation, "time", function, impl, workload, loops, warmups
            )
        )
        if loops is None:
            answers = source.calibrated_loops.get(impl, [])
            return TimeResponse(loops=answers.pop(0) if answers else 1, values_ns=(1.0,), warmup_values_ns=())
        index = source.timed.get(impl, 0)
        source.timed[impl] = index + values
        timed = tuple(source.value_ns(impl, index + offset) for offset in range(values))
        return TimeResponse(loops=loops, values_ns=timed, warmup_values_ns=(timed[0],) * warmups)

    def memory(self, function: str, impl: Impl, workload: str, calls: int) -> tuple[float, float]:
        source = self._source
        self._logged(
            Request(source.name, self._slot, self._generation, "memory", function, impl, workload, calls, 0)
        )
        return 64.0, 1.0

    def close(self) -> None:
        self.alive = False

    def kill(self) -> None:
        self.alive = False


def timed(log: list[Request]) -> list[Request]:
    """The requests of the rounds: calibrations and memory left out."""
    return [request for request in log if request.op == "time" and request.loops is not None]
