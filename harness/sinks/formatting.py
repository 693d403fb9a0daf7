"""How ``report.md`` and the gate's Markdown write numbers and tables: units, significant digits, escaping."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from harness.results import Speedup


def format_ns(value_ns: float | None) -> str:
    """A duration with three significant digits in a readable unit: ``41.2 ns``, ``3.05 ms``."""
    if value_ns is None or math.isnan(value_ns):
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(value_ns) >= scale:
            return f"{value_ns / scale:.3g} {unit}"
    return f"{value_ns:.3g} ns"


def format_count(value: float) -> str:
    """Three significant digits, never in exponent notation: ``73.9``, ``1,020``, ``5,390``."""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def format_bytes(value_bytes: float | None) -> str:
    """A size in binary units with three significant digits: ``512 B``, ``1.5 MiB``, ``1,020 KiB``."""
    if value_bytes is None:
        return "-"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value_bytes) >= scale:
            return f"{format_count(value_bytes / scale)} {unit}"
    return f"{format_count(value_bytes)} B"


def format_ratio(value: float | None) -> str:
    """``3.85x``; large ratios in full (``42,000x``) rather than in exponent notation."""
    if value is None:
        return "-"
    return f"{value:,.0f}x" if abs(value) >= 1000 else f"{value:.3g}x"


def format_percent(fraction: float | None) -> str:
    if fraction is None:
        return "-"
    text = f"{fraction * 100:.1f}%"
    return "0.0%" if text == "-0.0%" else text


def format_size(size: float | None, unit: str) -> str:
    if size is None:
        return "-"
    if unit == "bytes":
        return format_bytes(size)
    return f"{size:g} {unit}".strip()


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table; ``|`` inside cells is escaped."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    lines = [line(header), "|" + "|".join("---" for _ in header) + "|"]
    lines.extend(line(row) for row in rows)
    return lines


def format_reach(speedup: Speedup) -> str:
    """Both ends of the interval against the value, e.g. ``-8.8% / +1.3%`` (intervals are often lopsided)."""
    return f"-{speedup.relative_reach_below * 100:.1f}% / +{speedup.relative_reach_above * 100:.1f}%"
