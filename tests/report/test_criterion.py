"""Criterion integration: estimates are read by full_id, stale ones skipped, failures are CriterionError."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.measure.criterion import CriterionError, read_estimates, run_criterion


def _write_estimate(
    root: Path, folder: str, full_id: str | None, median_ns: float, throughput: object = None
) -> Path:
    new_dir = root / folder / "new"
    new_dir.mkdir(parents=True)
    estimates = {
        "mean": {"point_estimate": median_ns * 1.1},
        "median": {"point_estimate": median_ns, "standard_error": 1.0},
    }
    path = new_dir / "estimates.json"
    path.write_text(json.dumps(estimates), encoding="utf-8")
    if full_id is not None:
        benchmark = {"full_id": full_id, "throughput": throughput}
        (new_dir / "benchmark.json").write_text(json.dumps(benchmark), encoding="utf-8")
    return path


def test_read_estimates_keys_medians_by_full_id(tmp_path: Path) -> None:
    _write_estimate(tmp_path, "hash_file/md5-4KiB", "hash_file/md5-4KiB", 1234.5)
    _write_estimate(tmp_path, "base36_encode/hex32", "base36_encode/hex32", 150.0)
    assert read_estimates(tmp_path) == {"hash_file/md5-4KiB": 1234.5, "base36_encode/hex32": 150.0}


def test_batch_benches_are_divided_into_single_calls(tmp_path: Path) -> None:
    _write_estimate(tmp_path, "format_float/batch", "format_float/batch", 50_000.0, {"Elements": 1000})
    _write_estimate(tmp_path, "hash_file/md5-1MiB", "hash_file/md5-1MiB", 2_000_000.0, {"Bytes": 1 << 20})
    assert read_estimates(tmp_path) == {"format_float/batch": 50.0, "hash_file/md5-1MiB": 2_000_000.0}


def test_read_estimates_falls_back_to_the_folder_path(tmp_path: Path) -> None:
    _write_estimate(tmp_path, "format_float/batch", None, 42.0)
    assert read_estimates(tmp_path) == {"format_float/batch": 42.0}


def test_read_estimates_skips_stale_results(tmp_path: Path) -> None:
    stale = _write_estimate(tmp_path, "old/bench", "old/bench", 1.0)
    os.utime(stale, (1_000_000.0, 1_000_000.0))
    _write_estimate(tmp_path, "new/bench", "new/bench", 2.0)
    assert read_estimates(tmp_path, newer_than_unix_s=2_000_000.0) == {"new/bench": 2.0}


def test_malformed_estimate_names_the_file(tmp_path: Path) -> None:
    path = _write_estimate(tmp_path, "broken/bench", "broken/bench", 1.0)
    path.write_text('{"mean": {}}', encoding="utf-8")
    with pytest.raises(CriterionError, match=r"broken/bench/new/estimates\.json"):
        read_estimates(tmp_path)


def test_missing_cargo_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(CriterionError, match="cargo is not on PATH"):
        run_criterion(quick=True)


def test_build_failure_is_a_clear_error(tmp_path: Path) -> None:
    """A crate folder without a Cargo.toml makes cargo fail: the error carries cargo's words."""
    with pytest.raises(CriterionError, match=r"cargo bench failed \(exit \d+\)"):
        run_criterion(quick=True, native_dir=tmp_path)
