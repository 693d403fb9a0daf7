"""The run folder: everything one run leaves behind, written from its RunResult alone.

``<out>/runs/<run_id>/`` holds run.json, results.csv, speedups.csv, not_comparable.csv, environment.json and
one pyperf JSON per side (rust.json, python.json, fallback.json: each pair a benchmark in each) that
``python -m pyperf compare_to`` reads as they are; ``<out>/latest`` is a symlink to the newest run folder.
Column meanings: reports/README.md.

Every file is written atomically (``harness.atomic``), and the folder appears whole: it is written under a
hidden name and renamed into place, then ``latest`` is swapped to it in one rename.
"""

from __future__ import annotations

import csv
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyperf

from harness.atomic import (
    NEW_FOLDER_MODE,
    fsync_directory,
    open_atomic_text,
    replace_symlink_atomic,
    write_json_atomic,
)
from harness.cells import cell_text
from harness.results import Impl, MemorySample, NativeEstimate, PairResult, RunResult, TimingSample
from harness.run_json import save_run
from harness.sinks.charts import write_charts
from harness.sinks.report import write_report
from harness.sinks.report_html import write_run_html
from harness.stats import fallback_slower_than_python, rounds_look_bimodal
from harness.telemetry import TelemetryConfig, emit_run

DEFAULT_OUT = Path("reports")
# What a finished run is handed to, with the folder to write into: the report, the charts, the telemetry.
RunConsumer = Callable[[RunResult, Path], object]

RESULTS_COLUMNS = (
    "function",
    "impl",
    "workload",
    "size",
    "size_unit",
    "median_ns",
    "mean_ns",
    "stdev_ns",
    "min_ns",
    "max_ns",
    "values",
    "loops",
    "rounds",
    "alloc_bytes_per_call",
    "allocs_per_call",
    "peak_rss_bytes",
)
SPEEDUPS_COLUMNS = (
    "function",
    "workload",
    "size",
    "size_unit",
    "rust_median_ns",
    "python_median_ns",
    "speedup",
    "ci_low",
    "ci_high",
    "ci_half_width_pct",
    "ci_below_pct",
    "ci_above_pct",
    "rounds_look_bimodal",
    "rounds",
    "claimed_speedup",
    "verdict",
    "floor_ns",
    "floor_ci_low_ns",
    "floor_ci_high_ns",
    "rust_over_floor",
    "best_possible_speedup",
    "best_possible_ci_low",
    "best_possible_ci_high",
    "fallback_median_ns",
    "production_speedup",
    "production_ci_low",
    "production_ci_high",
    "dispatch_overhead_ns",
    "dispatch_overhead_ci_low_ns",
    "dispatch_overhead_ci_high_ns",
    "fallback_slower_than_python",
)
NOT_COMPARABLE_COLUMNS = ("function", "workload", "difference")


def benchmark_name(function: str, workload: str) -> str:
    """The pyperf benchmark name of a pair: ``base36_encode[md5-hex]``."""
    return f"{function}[{workload}]"


def _all_pairs(run: RunResult) -> list[PairResult]:
    """The timed pairs, the call floor (function ``_noop``) first."""
    return ([run.call_floor] if run.call_floor else []) + list(run.pairs)


def _results_row(pair: PairResult, sample: TimingSample, memory: MemorySample | None) -> dict[str, Any]:
    return {
        "function": pair.function,
        "impl": str(sample.impl),
        "workload": pair.workload,
        "size": cell_text(pair.size),
        "size_unit": pair.size_unit,
        "median_ns": sample.median_ns,
        "mean_ns": sample.mean_ns,
        "stdev_ns": sample.stdev_ns,
        "min_ns": sample.min_ns,
        "max_ns": sample.max_ns,
        "values": " ".join(repr(value) for value in sample.values_ns),
        "loops": sample.loops,
        "rounds": len(sample.values_ns),
        "alloc_bytes_per_call": cell_text(memory.alloc_bytes_per_call if memory else None),
        "allocs_per_call": cell_text(memory.allocs_per_call if memory else None),
        "peak_rss_bytes": cell_text(memory.peak_rss_bytes if memory else None),
    }


def _timed_sides(pair: PairResult) -> list[tuple[TimingSample, MemorySample | None]]:
    """Rust, Python and (where timed) the fallback, each with its own memory pass's figures."""
    sides = [(pair.rust, pair.rust_memory), (pair.python, pair.python_memory)]
    return sides + ([(pair.fallback, pair.fallback_memory)] if pair.fallback else [])


def _floor_columns(pair: PairResult, floor: NativeEstimate | None) -> dict[str, Any]:
    best = pair.best_possible_speedup
    return {
        "floor_ns": cell_text(floor.median_ns if floor else None),
        "floor_ci_low_ns": cell_text(floor.ci_low_ns if floor else None),
        "floor_ci_high_ns": cell_text(floor.ci_high_ns if floor else None),
        "rust_over_floor": cell_text(pair.rust.median_ns / floor.median_ns if floor else None),
        "best_possible_speedup": cell_text(best.value if best else None),
        "best_possible_ci_low": cell_text(best.ci_low if best else None),
        "best_possible_ci_high": cell_text(best.ci_high if best else None),
    }


def _fallback_columns(pair: PairResult) -> dict[str, Any]:
    production, overhead = pair.production_speedup, pair.dispatch_overhead
    return {
        "fallback_median_ns": cell_text(pair.fallback.median_ns if pair.fallback else None),
        "production_speedup": cell_text(production.value if production else None),
        "production_ci_low": cell_text(production.ci_low if production else None),
        "production_ci_high": cell_text(production.ci_high if production else None),
        "dispatch_overhead_ns": cell_text(overhead.value_ns if overhead else None),
        "dispatch_overhead_ci_low_ns": cell_text(overhead.ci_low_ns if overhead else None),
        "dispatch_overhead_ci_high_ns": cell_text(overhead.ci_high_ns if overhead else None),
        "fallback_slower_than_python": fallback_slower_than_python(pair) if production else "",
    }


def _speedups_row(pair: PairResult, floor: NativeEstimate | None = None) -> dict[str, Any]:
    speedup = pair.speedup
    return {
        "function": pair.function,
        "workload": pair.workload,
        "size": cell_text(pair.size),
        "size_unit": pair.size_unit,
        "rust_median_ns": pair.rust.median_ns,
        "python_median_ns": pair.python.median_ns,
        "speedup": speedup.value,
        "ci_low": speedup.ci_low,
        "ci_high": speedup.ci_high,
        "ci_half_width_pct": speedup.relative_half_width * 100,
        "ci_below_pct": speedup.relative_reach_below * 100,
        "ci_above_pct": speedup.relative_reach_above * 100,
        "rounds_look_bimodal": rounds_look_bimodal(pair),
        "rounds": len(pair.rust.values_ns),
        "claimed_speedup": cell_text(pair.claimed_speedup),
        "verdict": str(pair.verdict),
        **_floor_columns(pair, floor),
        **_fallback_columns(pair),
    }


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    with open_atomic_text(path, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def pyperf_suite(run: RunResult, impl: Impl) -> pyperf.BenchmarkSuite | None:
    """One pyperf benchmark per pair for one side; None when nothing was timed on it.

    pyperf values are seconds per call. Each round becomes one pyperf run (pyperf's unit of "one value set
    from one worker"), and the warm-ups of the side go with the first of them.
    """
    benchmarks = []
    for pair in _all_pairs(run):
        sample = pair.timing(impl)
        if sample is None:  # the fallback of a pair it does not route
            continue
        metadata = {
            "name": benchmark_name(pair.function, pair.workload),
            "unit": "second",
            "loops": sample.loops,
            "description": f"{pair.function} on workload {pair.workload}, {impl} side, per-call time",
        }
        warmups = [(sample.loops, value / 1e9) for value in sample.warmup_values_ns]
        runs = [
            pyperf.Run(
                [value / 1e9],
                warmups=warmups if index == 0 and warmups else None,
                metadata=metadata,
                collect_metadata=False,
            )
            for index, value in enumerate(sample.values_ns)
        ]
        benchmarks.append(pyperf.Benchmark(runs))
    return pyperf.BenchmarkSuite(benchmarks) if benchmarks else None


def write_run_files(run: RunResult, run_dir: Path) -> None:
    """The run's own files into ``run_dir``: run.json, environment.json, the CSVs, the pyperf JSON."""
    save_run(run, run_dir)
    write_json_atomic(run_dir / "environment.json", dict(run.environment))
    pairs = _all_pairs(run)
    _write_csv(
        run_dir / "results.csv",
        RESULTS_COLUMNS,
        (_results_row(pair, sample, memory) for pair in pairs for sample, memory in _timed_sides(pair)),
    )
    _write_csv(
        run_dir / "speedups.csv",
        SPEEDUPS_COLUMNS,
        (_speedups_row(pair, run.floors.get(f"{pair.function}/{pair.workload}")) for pair in pairs),
    )
    _write_csv(
        run_dir / "not_comparable.csv",
        NOT_COMPARABLE_COLUMNS,
        (
            {"function": n.function, "workload": n.workload, "difference": n.difference}
            for n in run.not_comparable
        ),
    )
    for impl in Impl:
        suite = pyperf_suite(run, impl)
        if suite is not None:
            with open_atomic_text(run_dir / f"{impl}.json") as handle:
                suite.dump(handle)


def _settle(staging: Path, runs_dir: Path, run_id: str) -> Path:
    """Rename the finished staging folder to ``runs/<run_id>`` (``-2``, ``-3`` ... if taken); return it."""
    suffix = 1
    run_dir = runs_dir / run_id
    while True:
        try:
            # rename(2) refuses a non-empty target: a folder already there is never overwritten.
            os.rename(staging, run_dir)
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            suffix += 1
            run_dir = runs_dir / f"{run_id}-{suffix}"
            continue
        run_dir.chmod(NEW_FOLDER_MODE)  # mkdtemp's 0700 would hide the results from other users
        fsync_directory(runs_dir)
        return run_dir


def write_run_folder(
    run: RunResult, out_dir: Path = DEFAULT_OUT, consumers: Sequence[RunConsumer] = ()
) -> Path:
    """Writes ``out_dir/runs/<run_id>/`` whole (a suffix is added if it exists), then points ``latest`` at it.

    The files are written into a hidden staging folder beside it, with what each of ``consumers`` adds
    (report, charts, telemetry), and the folder is renamed into place in one step: a run folder is
    complete or absent, and ``latest`` only ever names a complete one. A failure removes the staging folder;
    a SIGKILL leaves it as ``runs/.<run_id>.<random>.partial``, which nothing reads.
    """
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=runs_dir, prefix=f".{run.run_id}.", suffix=".partial"))
    try:
        write_run_files(run, staging)
        for consumer in consumers:
            consumer(run, staging)
        run_dir = _settle(staging, runs_dir, run.run_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_symlink_atomic(out_dir / "latest", run_dir.relative_to(out_dir))
    return run_dir


def publish_run(
    run: RunResult, out_dir: Path = DEFAULT_OUT, telemetry: TelemetryConfig | None = None
) -> Path:
    """Writes the run folder, then hands the run to the sinks that read it. Returns the run folder.

    ``telemetry`` None sends to no server; ``metrics.prom`` is written into the run folder either way. A
    server that is down never raises here: its payload is kept in the run folder for ``publish``.
    """
    config = telemetry or TelemetryConfig()
    # --- sinks: the single call site for every consumer of a finished run -----------------------------
    return write_run_folder(
        run,
        out_dir,
        consumers=(
            write_report,
            write_charts,
            write_run_html,  # after the charts: the page embeds them
            lambda finished, folder: emit_run(finished, folder, config),
        ),
    )
