"""Charts: each one is a real, non-empty PNG; workload variants join into the right scaling lines."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import harness.sinks.charts
from harness.results import RunResult
from harness.sinks.charts import series_key, write_charts

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


def _drawn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    real_save = harness.sinks.charts._save

    def save_and_record(figure: Figure, path: Path) -> Path:
        figures[path.name] = figure
        return real_save(figure, path)

    monkeypatch.setattr(harness.sinks.charts, "_save", save_and_record)
    return figures


def _lines_per_panel(figure: Figure) -> dict[str, list[str]]:
    """Panel title -> the labels of its lines (its right-hand axis included, which has no title)."""
    panels: dict[str, list[str]] = {}
    for axes in figure.axes:
        if not axes.get_visible():
            continue
        title = axes.get_title() or next(
            other.get_title()
            for other in figure.axes
            if other.bbox.bounds == axes.bbox.bounds and other.get_title()
        )
        panels.setdefault(title, []).extend(str(line.get_label()) for line in axes.get_lines())
    return panels


def test_scaling_charts_draw_the_physical_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = _drawn(monkeypatch)
    write_charts(run_with_references(), tmp_path)
    hash_panels = _lines_per_panel(figures["scaling_hash_file.png"])
    assert hash_panels["md5-*"] == ["Python", "Rust", "hashlib", "md5sum/sha256sum"]
    assert hash_panels["sha256-*"] == ["Python", "Rust", "hashlib", "md5sum/sha256sum"]
    assert _lines_per_panel(figures["scaling_read_last_n_lines.png"]) == {
        "*-n1000": ["Python", "Rust", "bytes read (right axis)"]
    }


def test_each_variant_has_its_own_panel_and_one_legend_covers_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = _drawn(monkeypatch)
    run = run_with_references()
    variants = [f"v{n}" for n in range(5)]
    many = [
        replace(pair, workload=f"{size}KiB-{variant}", size=float(size * 1024), function="many_lines")
        for variant in variants
        for size, pair in zip((1, 4, 16), run.pairs[:3], strict=True)
    ]
    write_charts(replace(run, pairs=(*run.pairs, *many)), tmp_path)
    figure = figures["scaling_many_lines.png"]
    assert sorted(_lines_per_panel(figure)) == [f"*-{variant}" for variant in variants]
    assert all(axes.get_legend() is None for axes in figure.axes)  # no legend drawn over a panel
    [legend] = figure.legends
    figure.canvas.draw()
    legend_box = legend.get_window_extent()
    for axes in figure.axes:
        if axes.get_visible():
            assert not legend_box.overlaps(axes.get_window_extent()), axes.get_title()
