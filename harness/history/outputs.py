"""What ``history`` writes: ``history.md`` (the steps found), ``history.json`` and a chart per series."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic
from harness.history.changes import Step
from harness.history.series import Series
from harness.sinks.formatting import format_ns, markdown_table

HISTORY_MD = "history.md"
HISTORY_JSON = "history.json"
CHARTS_DIR = "charts"
HISTORY_FORMAT_VERSION = 1


@dataclass(frozen=True)
class History:
    """Every series read and the steps found in each, with what a nightly job needs to decide."""

    series: tuple[Series, ...]
    steps: tuple[Step, ...]
    new_regressions: tuple[Step, ...]
    min_effect: float
    new_within: int


def chart_name(series: Series) -> str:
    key = series.key
    raw = f"{series.source}--{key.machine}--{key.function}--{key.impl}--{key.workload}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw) + ".png"


def _change(step: Step) -> str:
    low, high = (step.ci_low - 1) * 100, (step.ci_high - 1) * 100
    return f"{(step.change_ratio - 1) * 100:+.1f}% [{low:+.1f}%, {high:+.1f}%]"


def render_history(history: History) -> str:
    counts = {source: 0 for source in sorted({s.source for s in history.series})}
    for series in history.series:
        counts[series.source] += 1
    read = ", ".join(f"{count} series from {source}" for source, count in counts.items()) or "no series"
    lines = [
        "# History: change points per function, side and workload",
        "",
        f"Read {read}. A step is kept when the bootstrap 95% interval of median(after) / median(before) lies "
        f"wholly beyond {history.min_effect:.0%} on one side; 'new' means among a series' last "
        f"{history.new_within} points.",
        "",
    ]
    if not history.steps:
        return "\n".join([*lines, "No step found in any series.", ""])
    ordered = sorted(history.steps, key=lambda s: (not s.is_regression, -abs(s.change_ratio - 1)))
    rows = [
        (
            step.key.function,
            step.key.impl,
            step.key.workload,
            step.key.machine,
            step.source,
            step.at.label + (f" ({step.at.commit[:12]})" if step.at.commit else ""),
            format_ns(step.before_ns),
            format_ns(step.after_ns),
            _change(step),
            step.direction + (" (new)" if step in history.new_regressions else ""),
        )
        for step in ordered
    ]
    header = ("function", "side", "workload", "machine", "source", "first run after", "before", "after")
    table = markdown_table((*header, "change [95% interval]", "direction"), rows)
    return "\n".join([*lines, *table, "", f"Charts: `{CHARTS_DIR}/`, one per series, steps marked.", ""])


def _json(history: History) -> dict[str, Any]:
    return {
        "format_version": HISTORY_FORMAT_VERSION,
        "min_effect": history.min_effect,
        "new_within": history.new_within,
        "series": [
            {"source": s.source, **asdict(s.key), "points": [asdict(p) for p in s.points]}
            for s in history.series
        ],
        "steps": [
            {**asdict(step), "direction": step.direction, "new": step in history.new_regressions}
            for step in history.steps
        ],
    }


def series_chart(series: Series, steps: Sequence[Step]) -> bytes:
    """One series: its points, the median of each segment, and a marked line at each step."""
    import io  # noqa: PLC0415

    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(figsize=(8, 3.2))
    indices = range(len(series.points))
    axes.plot(
        indices, [p.median_ns for p in series.points], marker="o", color="#1f77b4", label="median per run"
    )
    edges = [0, *(step.index for step in steps), len(series.points)]
    medians = [steps[0].before_ns, *(step.after_ns for step in steps)] if steps else []
    for start, end, median in zip(edges, edges[1:], medians, strict=False):
        axes.hlines(median, start, end - 1, colors="#555555", linestyles="dashed")
    for step in steps:
        colour = "#d62728" if step.is_regression else "#2ca02c"
        axes.axvline(step.index - 0.5, color=colour, linewidth=1.5)
        axes.annotate(_change(step), (step.index - 0.5, step.after_ns), color=colour, fontsize=8)
    axes.set_title(f"{series.key.name} on {series.key.machine} ({series.source})", fontsize=9)
    axes.set_xlabel("run (oldest first)")
    axes.set_ylabel("median ns per call")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return buffer.getvalue()


def write_history(history: History, out_dir: Path) -> Path:
    """history.md, history.json and charts/ under ``out_dir``; returns the Markdown file."""
    charts = out_dir / CHARTS_DIR
    charts.mkdir(parents=True, exist_ok=True)
    for series in history.series:
        steps = [s for s in history.steps if s.key == series.key and s.source == series.source]
        write_bytes_atomic(charts / chart_name(series), series_chart(series, steps))
    write_json_atomic(out_dir / HISTORY_JSON, _json(history))
    markdown = out_dir / HISTORY_MD
    write_text_atomic(markdown, render_history(history))
    return markdown
