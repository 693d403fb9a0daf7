"""run_bench: parity before timing, and Ctrl-C that keeps what was measured."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psutil
import pytest

import harness.bench
import harness.timing
from harness.bench import run_bench
from harness.registry import DEFAULT_MODULES

from .conftest import tiny_options


@pytest.mark.usefixtures("stand_ins_on_path")
def test_bench_refuses_to_time_a_broken_pair(tmp_path: Path) -> None:
    options = tiny_options(
        tmp_path, only=("base36_encode", "truncate_long_string", "format_float"), rust_module="broken_rust"
    )
    run = run_bench(options)
    not_comparable = {(n.function, n.workload): n.difference for n in run.not_comparable}
    assert ("base36_encode", "md5-hex") in not_comparable
    assert "rust returned" in not_comparable[("base36_encode", "md5-hex")]
    assert "raised ValueError: broken on purpose" in not_comparable[("truncate_long_string", "commands-25")]
    timed = {pair.function for pair in run.pairs}
    assert timed == {"format_float"}, "only the pair that agrees may be timed"
    assert not run.interrupted
    assert run.call_floor is not None


def test_interrupt_keeps_finished_measurements_and_stops_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_time_pair = harness.timing.time_pair
    started_workers: list[int] = []

    def time_pair_then_ctrl_c(workers, function, workload, plan, seed=0):  # type: ignore[no-untyped-def]
        started_workers.extend(worker.pid for worker in workers)
        if function != "_noop":
            raise KeyboardInterrupt
        return real_time_pair(workers, function, workload, plan, seed)

    monkeypatch.setattr(harness.bench, "time_pair", time_pair_then_ctrl_c)
    run = run_bench(tiny_options(tmp_path, only=("base36_encode",)))
    assert run.interrupted
    assert run.call_floor is not None, "the call floor was measured before Ctrl-C and must be kept"
    assert run.pairs == ()
    for pid in started_workers:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_side_without_the_functions_is_reported_not_fatal(tmp_path: Path) -> None:
    # "json" has none of the 12 functions and no _noop: every pair is listed with the reason, nothing crashes.
    run = run_bench(tiny_options(tmp_path, only=("base36_encode",), rust_module="json"))
    assert run.pairs == ()
    assert run.call_floor is None
    assert {n.workload for n in run.not_comparable} == {"md5-hex", "uuid-hex"}
    assert all("could not be measured" in n.difference and "json" in n.difference for n in run.not_comparable)


def test_fallback_dispatch_is_counted_on_the_timed_workloads(tmp_path: Path) -> None:
    sky_rs = pytest.importorskip("sky_rs")
    if not hasattr(sky_rs, "get_parallel_threads"):
        pytest.skip("this sky_rs build lacks get_parallel_threads")
    options = replace(tiny_options(tmp_path, only=("get_parallel_threads",)), modules=dict(DEFAULT_MODULES))
    run = run_bench(options)
    assert {pair.workload for pair in run.pairs} == {"default", "kubernetes"}
    # one pass over each timed workload (one call each), all served by one side or the other
    assert sum(run.fallback_calls.values()) == 2
    assert set(run.fallback_calls) <= {"get_parallel_threads/rust", "get_parallel_threads/python"}
