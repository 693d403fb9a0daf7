"""Charts: each one is a real, non-empty PNG; workload variants join into the right scaling lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure

import harness.charts
from harness.charts import series_key, write_charts
from harness.results import RunResult

from .synthetic import run_with_references, synthetic_run

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_write_charts_writes_speedups_scaling_and_memory_pngs(tmp_path: Path) -> None:
    paths = write_charts(synthetic_run(), tmp_path)
    assert sorted(path.name for path in paths) == ["memory.png", "scaling_hash_file.png", "speedups.png"]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(_PNG_SIGNATURE), path
        assert len(data) > 10_000, f"{path} is suspiciously small ({len(data)} bytes)"


def test_a_run_without_pairs_draws_nothing(tmp_path: Path) -> None:
    empty = RunResult(
        run_id="empty", mode="quick", started_at_unix_s=0.0, duration_seconds=0.0, environment={}, pairs=()
    )
    assert write_charts(empty, tmp_path) == []


@pytest.mark.parametrize(
    ("workload", "size", "expected"),
    [
        ("md5-4KiB", 4096.0, "md5-*"),
        ("sha256-1GiB", float(2**30), "sha256-*"),
        ("1MB-n1000", 1e6, "*-n1000"),
        ("1MB-crlf-n1000", 1e6, "*-crlf-n1000"),
        ("dir-100", 100.0, "dir-*"),
        ("md5-tree-2000", 123.0, "md5-tree-2000"),  # no token equals the size: its own series
        ("batch", None, "batch"),
    ],
)
def test_series_key_removes_only_the_size_token(workload: str, size: float | None, expected: str) -> None:
    assert series_key(workload, size) == expected


def test_scaling_charts_draw_the_physical_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: dict[str, list[str]] = {}
    real_save = harness.charts._save

    def save_and_record(figure: Figure, path: Path) -> Path:
        drawn[path.name] = [str(line.get_label()) for axes in figure.axes for line in axes.get_lines()]
        return real_save(figure, path)

    monkeypatch.setattr(harness.charts, "_save", save_and_record)
    write_charts(run_with_references(), tmp_path)
    hash_lines = drawn["scaling_hash_file.png"]
    assert {"hashlib (md5-*)", "md5sum/sha256sum (md5-*)", "hashlib (sha256-*)"} <= set(hash_lines)
    assert drawn["scaling_read_last_n_lines.png"] == ["Python", "Rust", "bytes read"]
