"""Floors in the run's files: estimates with their intervals, the bench's inputs, run.json, CSV, report."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from harness.functions.pairs.workload_types import PreparedWorkload, Workload
from harness.functions.registry import all_workloads
from harness.measure.criterion import CriterionError, read_estimate_intervals
from harness.measure.floors import write_inputs
from harness.results import NativeEstimate, RunResult, Speedup, Verdict
from harness.sinks.report import render_report
from harness.sinks.run_folder import write_run_folder
from harness.stats import apply_floors

from .synthetic import synthetic_run


def _write_estimate(root: Path, full_id: str, median: dict[str, object], throughput: object) -> None:
    new_dir = root / full_id / "new"
    new_dir.mkdir(parents=True)
    (new_dir / "estimates.json").write_text(json.dumps({"median": median}), encoding="utf-8")
    benchmark = {"full_id": full_id, "throughput": throughput}
    (new_dir / "benchmark.json").write_text(json.dumps(benchmark), encoding="utf-8")


def test_floor_estimates_keep_their_interval_per_call(tmp_path: Path) -> None:
    interval = {"lower_bound": 9_000.0, "upper_bound": 12_000.0, "confidence_level": 0.95}
    median = {"point_estimate": 10_000.0, "confidence_interval": interval}
    _write_estimate(tmp_path, "format_float/mixed-p1", median, {"Elements": 1000})
    _write_estimate(tmp_path, "get_cpu_count/host", {"point_estimate": 700.0}, None)
    estimates = read_estimate_intervals(tmp_path)
    assert estimates["format_float/mixed-p1"] == NativeEstimate(10.0, 9.0, 12.0)
    assert estimates["get_cpu_count/host"] == NativeEstimate(700.0, 700.0, 700.0)  # no interval: a point


def test_an_interval_that_misses_its_median_is_widened(tmp_path: Path) -> None:
    median = {"point_estimate": 100.0, "confidence_interval": {"lower_bound": 101.0, "upper_bound": 120.0}}
    _write_estimate(tmp_path, "hash_file/md5-4KiB", median, None)
    assert read_estimate_intervals(tmp_path)["hash_file/md5-4KiB"] == NativeEstimate(100.0, 100.0, 120.0)


def test_a_zero_floor_is_a_criterion_error(tmp_path: Path) -> None:
    _write_estimate(tmp_path, "x/y", {"point_estimate": 0.0}, None)
    with pytest.raises(CriterionError, match="estimate"):
        read_estimate_intervals(tmp_path)


def _workload(function: str, workload_id: str) -> Workload:
    return next(w for w in all_workloads() if (w.function, w.id) == (function, workload_id))


def test_floor_inputs_one_call_a_line(tmp_path: Path) -> None:
    mounts = {"/remote/data": "/data/dir-10", "/remote/bucket": "s3://sky-bench/data"}
    prepared = [
        (_workload("format_float", "mixed-p1"), PreparedWorkload(batch=((7, 1), (0.5, 1)))),
        (_workload("is_process_alive", "own-pid"), PreparedWorkload(batch=((os.getpid(),),))),
        (_workload("get_max_workers_for_file_mounts", "dir-10"), PreparedWorkload(batch=((mounts, None),))),
        (_workload("get_parallel_threads", "default"), PreparedWorkload(batch=((None,),))),
    ]
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "stale[old].tsv").write_text("x\n")
    ids = write_inputs(prepared, tmp_path / "inputs")
    assert ids[0] == "format_float/mixed-p1"
    files = {path.name: path.read_text() for path in (tmp_path / "inputs").iterdir()}
    assert files == {
        "format_float[mixed-p1].tsv": "7\t1\n0.5\t1\n",
        "is_process_alive[own-pid].tsv": "self\n",
        "get_max_workers_for_file_mounts[dir-10].tsv": "/data/dir-10\ts3://sky-bench/data\n",
        "get_parallel_threads[default].tsv": "\n",
    }


def _floored_run() -> RunResult:
    run = synthetic_run()
    floors = {
        "get_parallel_threads/aws": NativeEstimate(60.0, 58.0, 62.0),
        "base36_encode/hex32": NativeEstimate(20.0, 19.0, 21.0),
    }
    pairs = apply_floors(run.pairs, floors, run.call_floor)
    objects = {"base36_encode/hex32": NativeEstimate(8.0, 7.5, 8.5)}  # part of its floor
    return replace(run, pairs=pairs, floors=floors, result_object_floors=objects)


def test_run_json_keeps_floors_and_best_possible_speedups() -> None:
    run = _floored_run()
    loaded = RunResult.from_json_dict(json.loads(json.dumps(run.to_json_dict())))
    assert loaded == run
    assert loaded.pairs[1].verdict is Verdict.IMPOSSIBLE
    assert loaded.result_object_floors == {"base36_encode/hex32": NativeEstimate(8.0, 7.5, 8.5)}


def test_a_version_4_run_json_loads_with_no_result_objects() -> None:
    data = _floored_run().to_json_dict()
    data["format_version"] = 4
    del data["result_object_floors"]
    assert RunResult.from_json_dict(data).result_object_floors == {}


def test_a_version_1_run_json_still_loads() -> None:
    data = synthetic_run().to_json_dict()
    data["format_version"] = 1
    for pair in data["pairs"]:
        del pair["best_possible_speedup"]
    del data["floors"]
    loaded = RunResult.from_json_dict(data)
    assert loaded.floors == {}
    assert all(pair.best_possible_speedup is None for pair in loaded.pairs)


def test_speedups_csv_has_the_floor_columns(tmp_path: Path) -> None:
    run_dir = write_run_folder(_floored_run(), tmp_path)
    with (run_dir / "speedups.csv").open(newline="") as handle:
        rows = {row["function"]: row for row in csv.DictReader(handle)}
    threads = rows["get_parallel_threads"]
    assert float(threads["floor_ns"]) == 60.0
    assert float(threads["rust_over_floor"]) == pytest.approx(80.0 / 60.0)
    # 120 ns of Python / (60 ns floor + 50 ns call floor)
    assert float(threads["best_possible_speedup"]) == pytest.approx(120.0 / 110.0)
    assert threads["verdict"] == "impossible"
    assert rows["format_float"]["floor_ns"] == rows["format_float"]["best_possible_speedup"] == ""


def test_report_shows_floors_impossible_and_the_reachable_average() -> None:
    text = render_report(_floored_run())
    section = text.split("## Physical floors and best possible speedups")[1].split("\n## ")[0]
    threads_row = next(line for line in section.splitlines() if line.startswith("| get_parallel_threads"))
    assert "| 60 ns [58 ns, 62 ns] | - |" in threads_row  # no result objects measured for it
    base36_row = next(line for line in section.splitlines() if line.startswith("| base36_encode"))
    assert "| 20 ns [19 ns, 21 ns] | 8 ns |" in base36_row
    assert "It includes the Python objects the call returns" in section
    assert "**impossible**" in threads_row
    assert "average speedup 8.5x reachable at all" in text
    assert "1 of " in text and "pairs." in text


def test_report_says_when_the_floors_leave_the_result_objects_out() -> None:
    text = render_report(replace(_floored_run(), result_object_floors={}))
    assert "This run did not measure the Python objects of the result" in text


def test_report_without_floors_says_so() -> None:
    assert "The physical floors were not measured in this run." in render_report(synthetic_run())


def test_speedup_validation_still_applies_to_best_possible() -> None:
    with pytest.raises(ValueError):
        Speedup(value=1.0, ci_low=1.1, ci_high=1.2, method="x")
