"""The memory pass with fake workers: A B B A order, peak RSS on request, failures kept apart."""

from __future__ import annotations

from contextlib import ExitStack

from harness.measure.engine import Matchup, MeasurePlan, Side, WorkerPool, measure_memory
from harness.results import Impl

from .fake_workers import FakeSource, Request

BASE, CANDIDATE = Side("base", Impl.PYTHON), Side("candidate", Impl.PYTHON)


def test_two_passes_measure_each_side_twice_in_a_b_b_a_order() -> None:
    log: list[Request] = []
    plan = MeasurePlan(min_rounds=2, max_rounds=2, memory_calls=7, memory_passes=2)
    with ExitStack() as stack:
        pool = WorkerPool(
            {"base": FakeSource("base", log), "candidate": FakeSource("candidate", log)}, 1, stack
        )
        [memory] = measure_memory(pool, [Matchup("f", "w", (BASE, CANDIDATE))], plan)
    assert [(request.source, request.loops) for request in log] == [
        ("base", 7), ("candidate", 7), ("candidate", 7), ("base", 7),
    ]  # fmt: skip
    assert memory.failure is None
    assert memory.sides[BASE].alloc_bytes_per_call == (64.0, 64.0)
    assert memory.sides[BASE].peak_rss_bytes is None  # not asked for


def test_peak_rss_is_measured_per_side_when_asked_and_a_failure_is_reported() -> None:
    log: list[Request] = []
    rust, python = Side("tree", Impl.RUST), Side("tree", Impl.PYTHON)
    source = FakeSource("tree", log, fails=lambda r: r.function == "broken")
    plan = MeasurePlan(min_rounds=2, max_rounds=2)
    with ExitStack() as stack:
        pool = WorkerPool({"tree": source}, 1, stack)
        good, bad = measure_memory(
            pool,
            [Matchup("f", "w", (rust, python)), Matchup("broken", "w", (rust, python))],
            plan,
            peak_rss=True,
        )
    assert [request.op for request in log if request.function == "f"] == [
        "memory",
        "memory",
        "peak_rss",
        "peak_rss",
    ]
    assert good.sides[rust].peak_rss_bytes == good.sides[python].peak_rss_bytes == 4096
    assert bad.sides == {} and bad.failure is not None and "failed on purpose" in bad.failure
    assert source.starts == 2  # the worker the failure killed was replaced
