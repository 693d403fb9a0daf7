"""run_bench: parity before timing, and Ctrl-C that keeps what was measured."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

import harness.measure.bench
import harness.measure.engine
from harness.functions.registry import DEFAULT_MODULES
from harness.measure.bench import DROPPED_AT_CTRL_C, run_bench

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
    real_measure_rounds = harness.measure.engine.measure_rounds
    started_workers: list[int] = []

    def measure_rounds_then_ctrl_c(pool, matchups, plan, seed=0):  # type: ignore[no-untyped-def]
        started_workers.extend(pool.client("bench", slot).pid for slot in range(pool.processes))
        if matchups[0].function != "_noop":
            raise KeyboardInterrupt
        return real_measure_rounds(pool, matchups, plan, seed=seed)

    monkeypatch.setattr(harness.measure.bench, "measure_rounds", measure_rounds_then_ctrl_c)
    run = run_bench(tiny_options(tmp_path, only=("base36_encode",)))
    assert run.interrupted
    assert run.call_floor is not None, "the call floor was measured before Ctrl-C and must be kept"
    assert run.pairs == ()
    dropped = [(n.function, n.workload, n.difference) for n in run.not_comparable]
    assert dropped == [("base36_encode", "md5-hex", DROPPED_AT_CTRL_C)], "the cut pair must be named"
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


def test_a_run_has_the_timer_overhead_and_the_references_of_its_workloads(tmp_path: Path) -> None:
    run = run_bench(tiny_options(tmp_path, only=("read_last_n_lines",)))
    assert run.timer_overhead_ns is not None and run.timer_overhead_ns > 0
    expected = {f"read_last_n_lines/{pair.workload}/bytes_read_per_call" for pair in run.pairs}
    assert expected and set(run.physical_references) == expected


def test_references_respect_only_and_can_be_skipped(tmp_path: Path) -> None:
    assert run_bench(tiny_options(tmp_path, only=("base36_encode",))).physical_references == {}
    options = replace(tiny_options(tmp_path, only=("read_last_n_lines",)), references=False)
    assert run_bench(options).physical_references == {}


def test_interrupt_during_references_keeps_those_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def one_reference_then_ctrl_c(*_args: object, **_kwargs: object) -> Iterator[tuple[str, float]]:
        yield "read_last_n_lines/1KB-n1000/bytes_read_per_call", 1000.0
        raise KeyboardInterrupt

    monkeypatch.setattr(harness.measure.bench, "measure_references", one_reference_then_ctrl_c)
    run = run_bench(tiny_options(tmp_path, only=("read_last_n_lines",)))
    assert run.interrupted
    assert run.pairs, "the pairs were measured before the references and must be kept"
    assert run.physical_references == {"read_last_n_lines/1KB-n1000/bytes_read_per_call": 1000.0}
