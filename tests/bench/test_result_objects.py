"""The result objects' floor: sky_rs creates a call's result objects anew, the worker times them per call,
and the bench adds them to the Criterion floors."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import harness.measure.bench
import sky_rs
from harness.functions.registry import DEFAULT_MODULES
from harness.measure.bench import run_bench
from harness.measure.floors import with_result_objects
from harness.measure.worker_client import WorkerClient, WorkerError
from harness.results import NativeEstimate, RunResult

from .conftest import REPO_ROOT, tiny_options


def _traced_peak_and_residue_bytes(results: list[object], loops: int) -> tuple[int, int]:
    """The peak of the traced heap during one call, and what it still holds after (both above the start)."""
    tracemalloc.start()
    try:
        start_bytes, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sky_rs._build_result_objects(results, loops)
        end_bytes, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak_bytes - start_bytes, end_bytes - start_bytes


@pytest.mark.parametrize(
    ("text", "bytes_per_code_point"),
    [("a" * 10_000, 1), ("é" * 10_000, 1), ("€" * 10_000, 2), ("😀" * 10_000, 4)],
)
def test_each_str_is_created_with_its_kind_and_released(text: str, bytes_per_code_point: int) -> None:
    peak_bytes, residue_bytes = _traced_peak_and_residue_bytes([text], loops=100)
    # One copy alive at a time: its code units, never 100 of them (each is released before the next).
    assert 10_000 * bytes_per_code_point <= peak_bytes < 2 * 10_000 * bytes_per_code_point + 1_000
    assert residue_bytes < 1_000


def test_a_list_of_str_is_created_whole_and_released() -> None:
    lines = [f"line {index:06d} of the tail" for index in range(1_000)]
    peak_bytes, residue_bytes = _traced_peak_and_residue_bytes([lines], loops=20)
    assert peak_bytes >= sum(sys.getsizeof(line) for line in lines)  # every item exists at the peak
    assert residue_bytes < 1_000


def test_results_that_need_no_new_object_create_none() -> None:
    peak_bytes, _ = _traced_peak_and_residue_bytes([None, True, 2**80], loops=1_000)
    assert peak_bytes < 1_000
    assert sky_rs._build_result_objects([None, True, 2**80], 1)[0] == 0
    assert sky_rs._build_result_objects([None, "ab", [], 7, 0.5], 1)[0] == 4


def test_the_results_given_are_left_as_they_were() -> None:
    results: list[object] = [["a", "bc"], "déf", 12, 0.5]
    before = [list(item) if isinstance(item, list) else item for item in results]
    sky_rs._build_result_objects(results, 3)
    assert results == before


def test_zero_loops_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="loops must be at least 1"):
        sky_rs._build_result_objects(["x"], 0)


@pytest.fixture
def rust_worker(tmp_path: Path) -> Iterator[WorkerClient]:
    client = WorkerClient(Path(sys.executable), tmp_path, modules=DEFAULT_MODULES, cwd=REPO_ROOT)
    yield client
    client.kill()


def test_the_worker_times_the_objects_of_a_workload_per_call(rust_worker: WorkerClient) -> None:
    response = rust_worker.result_objects(
        "read_last_n_lines", "1KB-n10", values=3, warmups=1, min_time_s=0.001
    )
    assert response.loops >= 1
    assert len(response.values_ns) == 3 and len(response.warmup_values_ns) == 1
    assert all(value > 0 for value in response.values_ns)


def test_a_workload_with_nothing_to_create_is_zero_not_a_calibration(rust_worker: WorkerClient) -> None:
    # is_process_alive returns bools: the floor's part is 0 (an empty loop would calibrate up to 2^32 loops).
    response = rust_worker.result_objects(
        "is_process_alive", "dead-pid", values=2, warmups=1, min_time_s=0.001
    )
    assert response.values_ns == (0.0, 0.0) and response.warmup_values_ns == (0.0,)


def test_a_rust_module_without_the_helper_is_a_worker_error(tmp_path: Path) -> None:
    modules = {side: "harness.functions.reference" for side in DEFAULT_MODULES}
    client = WorkerClient(Path(sys.executable), tmp_path, modules=modules, cwd=REPO_ROOT)
    try:
        with pytest.raises(WorkerError, match="_build_result_objects"):
            client.result_objects("format_float", "mixed-p1", values=1, warmups=0, min_time_s=0.001)
        assert client.alive
    finally:
        client.kill()


def test_with_result_objects_adds_the_median_and_both_ends() -> None:
    floors = {"f/a": NativeEstimate(100.0, 90.0, 110.0), "f/b": NativeEstimate(5.0, 4.0, 6.0)}
    objects = {"f/a": NativeEstimate(10.0, 9.0, 12.0), "f/missing": NativeEstimate(1.0, 1.0, 1.0)}
    assert with_result_objects(floors, objects) == {
        "f/a": NativeEstimate(110.0, 99.0, 122.0),
        "f/b": NativeEstimate(5.0, 4.0, 6.0),
    }


CRITERION_FLOOR = NativeEstimate(median_ns=30.0, ci_low_ns=28.0, ci_high_ns=32.0)


def _bench_with_floors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunResult:
    def fake_run_floors(workloads: object, *_args: object, **_kwargs: object) -> dict[str, NativeEstimate]:
        return {"truncate_long_string/commands-25": CRITERION_FLOOR}

    monkeypatch.setattr(harness.measure.bench, "run_floors", fake_run_floors)
    options = tiny_options(tmp_path, only=("truncate_long_string",), rust_module="sky_rs")
    return run_bench(replace(options, floors=True, fallback=False))


def test_the_bench_adds_the_result_objects_to_the_floors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _bench_with_floors(tmp_path, monkeypatch)
    [objects] = run.result_object_floors.values()
    assert set(run.result_object_floors) == {"truncate_long_string/commands-25"}
    assert objects.median_ns > 0
    floor = run.floors["truncate_long_string/commands-25"]
    assert floor.median_ns == pytest.approx(CRITERION_FLOOR.median_ns + objects.median_ns)
    [pair] = [pair for pair in run.pairs if pair.workload == "commands-25"]
    best = pair.best_possible_speedup
    assert best is not None and run.call_floor is not None
    # The speedups are the combined floor's, not the Criterion floor's alone.
    python_ns = pair.python.median_ns
    assert best.value < python_ns / (CRITERION_FLOOR.median_ns + run.call_floor.rust.median_ns)


def test_a_failed_objects_step_keeps_the_plain_floors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*_args: object, **_kwargs: object) -> dict[str, NativeEstimate]:
        raise WorkerError("WorkerDied", "the worker died")

    monkeypatch.setattr(harness.measure.bench, "measure_result_objects", failing)
    run = _bench_with_floors(tmp_path, monkeypatch)
    assert run.result_object_floors == {}
    assert run.floors == {"truncate_long_string/commands-25": CRITERION_FLOOR}
    assert all(pair.best_possible_speedup is not None for pair in run.pairs if pair.workload == "commands-25")


def test_a_workload_with_nothing_to_create_gets_no_result_objects_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_run_floors(workloads: object, *_args: object, **_kwargs: object) -> dict[str, NativeEstimate]:
        return {"is_process_alive/dead-pid": CRITERION_FLOOR}

    monkeypatch.setattr(harness.measure.bench, "run_floors", fake_run_floors)
    options = tiny_options(tmp_path, only=("is_process_alive",), rust_module="sky_rs")
    run = run_bench(replace(options, floors=True, fallback=False))
    assert run.result_object_floors == {}  # its results are bools
    assert run.floors == {"is_process_alive/dead-pid": CRITERION_FLOOR}
