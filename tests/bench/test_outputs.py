"""The run folder: files, CSV columns with units, pyperf files that pyperf compare_to accepts."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.measure.bench import run_bench
from harness.results import RunResult
from harness.sinks.run_folder import RESULTS_COLUMNS, SPEEDUPS_COLUMNS, write_run_folder

from .conftest import tiny_options


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_bench(
        tiny_options(tmp_path_factory.mktemp("bench"), only=("base36_encode", "get_parallel_threads"))
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_run_folder_files_and_latest(run: RunResult, tmp_path: Path) -> None:
    run_dir = write_run_folder(run, tmp_path)
    assert run_dir.parent == tmp_path / "runs"
    expected = {"run.json", "results.csv", "speedups.csv", "not_comparable.csv", "environment.json"}
    assert expected | {"rust.json", "python.json", "fallback.json"} <= {p.name for p in run_dir.iterdir()}
    assert (tmp_path / "latest").resolve() == run_dir.resolve()
    again = write_run_folder(run, tmp_path)
    assert again != run_dir, "a second folder for the same run id must not overwrite the first"
    assert (tmp_path / "latest").resolve() == again.resolve()
    assert RunResult.from_json_dict(json.loads((run_dir / "run.json").read_text())) == run


def test_results_csv(run: RunResult, tmp_path: Path) -> None:
    rows = _rows(write_run_folder(run, tmp_path) / "results.csv")
    assert tuple(rows[0]) == RESULTS_COLUMNS
    # one row per function x side x workload (three sides: the fallback routes both), plus the call floor
    # of each direct side
    assert len(rows) == 3 * len(run.pairs) + 2
    first_pair = run.pairs[0]
    rust_row = next(
        r
        for r in rows
        if r["function"] == first_pair.function
        and r["impl"] == "rust"
        and r["workload"] == first_pair.workload
    )
    assert [float(v) for v in rust_row["values"].split()] == list(first_pair.rust.values_ns)
    assert float(rust_row["median_ns"]) == first_pair.rust.median_ns
    assert int(rust_row["rounds"]) == len(first_pair.rust.values_ns)


def test_speedups_csv(run: RunResult, tmp_path: Path) -> None:
    rows = _rows(write_run_folder(run, tmp_path) / "speedups.csv")
    assert tuple(rows[0]) == SPEEDUPS_COLUMNS
    by_key = {(r["function"], r["workload"]): r for r in rows}
    for pair in run.pairs:
        row = by_key[(pair.function, pair.workload)]
        assert float(row["ci_low"]) <= float(row["speedup"]) <= float(row["ci_high"])
        assert float(row["claimed_speedup"]) == pair.claimed_speedup
        assert row["verdict"] == str(pair.verdict)


def test_pyperf_compare_to_accepts_the_files(run: RunResult, tmp_path: Path) -> None:
    run_dir = write_run_folder(run, tmp_path)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyperf",
            "compare_to",
            str(run_dir / "python.json"),
            str(run_dir / "rust.json"),
            "--table",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    # what callers get: the fallback's suite has every pair but the call floor
    completed = subprocess.run(
        [sys.executable, "-m", "pyperf", "compare_to", str(run_dir / "python.json"),
         str(run_dir / "fallback.json"), "--table"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "base36_encode[md5-hex]" in completed.stdout
    completed = subprocess.run(
        [sys.executable, "-m", "pyperf", "show", str(run_dir / "rust.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "base36_encode[md5-hex]" in completed.stdout


def test_a_run_folder_appears_whole_or_not_at_all(run: RunResult, tmp_path: Path) -> None:
    first = write_run_folder(run, tmp_path)

    def failing_consumer(_run: RunResult, folder: Path) -> None:
        (folder / "report.md").write_text("half a report")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_run_folder(run, tmp_path, consumers=(failing_consumer,))
    assert [path.name for path in (tmp_path / "runs").iterdir()] == [first.name], "no partial folder left"
    assert (tmp_path / "latest").resolve() == first.resolve(), "latest must keep naming a complete folder"
