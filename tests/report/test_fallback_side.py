"""The fallback as a third side in the run's values and files: run.json, CSV, pyperf JSON, report, StatsD."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from harness.results import Impl, RunResult, TimingSample
from harness.run_json import load_run, save_run
from harness.sinks.report import render_report
from harness.sinks.report_html import render_run_html
from harness.sinks.run_folder import SPEEDUPS_COLUMNS, pyperf_suite, write_run_folder
from harness.stats import paired_difference_ns, paired_speedup
from harness.telemetry.statsd_sink import run_gauges

from .synthetic import FALLBACK_NS, run_with_fallback

FIXTURES = Path(__file__).parent / "fixtures"


def _sample(values_ns: tuple[float, ...]) -> TimingSample:
    return TimingSample("f", Impl.FALLBACK, "w", values_ns, loops=1)


def test_the_overhead_is_the_median_of_per_round_differences() -> None:
    # Rounds drift together (load hits both sides alike) and one round lost 900 ns on the fallback side
    # only: the median of per-round differences sees neither.
    rust_ns = tuple(100.0 + 10.0 * index for index in range(15))
    fallback_ns = tuple(
        value + 50.0 + (900.0 if index == 7 else index % 3 - 1) for index, value in enumerate(rust_ns)
    )
    overhead = paired_difference_ns(fallback_ns, rust_ns, seed=1, resamples=500)
    assert overhead.value_ns == 50.0
    assert overhead.ci_low_ns <= 50.0 <= overhead.ci_high_ns
    assert overhead.ci_high_ns <= 51.0
    negative = paired_difference_ns(rust_ns, fallback_ns, seed=1, resamples=500)
    assert negative.value_ns == -50.0  # a fallback faster than Rust is a negative overhead, not an error


def test_unpaired_rounds_are_refused() -> None:
    with pytest.raises(ValueError, match="paired rounds"):
        paired_difference_ns((1.0, 2.0), (1.0,))


def test_production_speedup_is_the_paired_bootstrap_of_python_over_fallback() -> None:
    run = run_with_fallback()
    routed = [pair for pair in run.pairs if pair.fallback is not None]
    assert {pair.function for pair in routed} == set(FALLBACK_NS)
    for pair in routed:
        assert pair.fallback is not None and pair.production_speedup is not None
        expected = paired_speedup(pair.python.values_ns, pair.fallback.values_ns, 0, 200)
        assert pair.production_speedup == expected
        assert pair.dispatch_overhead is not None
        assert pair.dispatch_overhead.value_ns == pytest.approx(
            FALLBACK_NS[pair.function] - pair.rust.median_ns
        )


def test_run_json_keeps_the_fallback_side(tmp_path: Path) -> None:
    run = run_with_fallback()
    save_run(run, tmp_path)
    assert load_run(tmp_path) == run


def test_a_committed_format_2_run_json_still_loads(tmp_path: Path) -> None:
    # Written by the harness before the fallback was a side (format 2), kept as it was.
    shutil.copy(FIXTURES / "run-format-2.json", tmp_path / "run.json")
    assert json.loads((tmp_path / "run.json").read_text())["format_version"] == 2
    loaded = load_run(tmp_path)
    assert isinstance(loaded, RunResult) and loaded.pairs
    assert all(pair.fallback is None and pair.production_speedup is None for pair in loaded.pairs)
    assert all(pair.dispatch_overhead is None for pair in loaded.pairs)


def test_speedups_csv_has_the_fallback_columns(tmp_path: Path) -> None:
    run_dir = write_run_folder(run_with_fallback(), tmp_path)
    with (run_dir / "speedups.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == SPEEDUPS_COLUMNS
        rows = {row["function"]: row for row in reader}
    threads = rows["get_parallel_threads"]
    assert float(threads["fallback_median_ns"]) == pytest.approx(200.0)
    assert float(threads["production_speedup"]) == pytest.approx(120.0 / 200.0)
    assert float(threads["dispatch_overhead_ns"]) == pytest.approx(120.0)
    assert threads["fallback_slower_than_python"] == "True"
    assert rows["base36_encode"]["fallback_slower_than_python"] == "False"
    assert rows["hash_file"]["production_speedup"] == rows["hash_file"]["fallback_median_ns"] == ""
    with (run_dir / "results.csv").open(newline="") as handle:
        sides = {(row["function"], row["impl"]) for row in csv.DictReader(handle)}
    assert ("format_float", "fallback") in sides and ("hash_file", "fallback") not in sides


def test_pyperf_json_has_a_fallback_benchmark_per_routed_pair(tmp_path: Path) -> None:
    run = run_with_fallback()
    suite = pyperf_suite(run, Impl.FALLBACK)
    assert suite is not None
    names = set(suite.get_benchmark_names())
    assert names == {f"{pair.function}[{pair.workload}]" for pair in run.pairs if pair.fallback}
    run_dir = write_run_folder(run, tmp_path)
    assert (run_dir / "fallback.json").is_file()


def test_report_flags_a_fallback_slower_than_python(tmp_path: Path) -> None:
    text = render_report(run_with_fallback())
    section = text.split("## What callers get", 1)[1].split("\n## ", 1)[0]
    flagged = [line for line in section.splitlines() if "**slower than Python**" in line and "|" in line]
    assert [line.split("|")[1].strip() for line in flagged] == ["get_parallel_threads"]
    assert "+120 ns" in flagged[0]
    html = render_run_html(run_with_fallback(), tmp_path)
    assert "dispatch overhead" in html and "slower than Python" in html


def test_statsd_sends_the_fallback_side_and_what_callers_get() -> None:
    names = {gauge.name: gauge.value for gauge in run_gauges(run_with_fallback(), "p")}
    assert names["p.get_parallel_threads.aws.fallback.median_ns"] == pytest.approx(200.0)
    assert names["p.get_parallel_threads.aws.production_speedup_ratio"] == pytest.approx(0.6)
    assert names["p.get_parallel_threads.aws.dispatch_overhead_ns"] == pytest.approx(120.0)
    assert not any(name.startswith("p.hash_file.") and "fallback" in name for name in names)
