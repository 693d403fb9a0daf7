"""PNG charts of one run (matplotlib, Agg backend): speedups, scaling curves, memory per function.

- ``speedups.png``: one row per function x workload, the speedup with its 95% interval on a log axis, the
  claim marked on the same row, colour by verdict;
- ``scaling_<function>.png``: median time against input size on log-log axes, one panel per workload variant
  (for functions measured at more than one size), a line per side and the physical references (hashlib and
  md5sum/sha256sum times; bytes read per call on a second axis), one legend beside the panels;
- ``memory.png``: bytes allocated per call, Python and Rust side by side, on a log axis.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.atomic import open_atomic_binary
from harness.measure.physical import BYTES_READ_PER_CALL, COREUTILS_NS, HASHLIB_NS, references_of
from harness.results import PairResult, RunResult, Verdict

if TYPE_CHECKING:
    # matplotlib takes about a second to import: the chart functions import it when they run, so that
    # importing this module (the command line does, through harness.sinks.run_folder) stays cheap.
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_VERDICT_COLOURS = {
    Verdict.CONFIRMED: "tab:green",
    Verdict.REFUTED: "tab:red",
    Verdict.INCONCLUSIVE: "tab:orange",
    Verdict.NO_CLAIM: "tab:gray",
    Verdict.IMPOSSIBLE: "tab:purple",
}
_BYTES_READ_LABEL = "bytes read"
_SIDE_COLOURS = {
    "Python": "tab:blue",
    "Rust": "tab:orange",
    "hashlib": "tab:green",
    "md5sum/sha256sum": "tab:gray",
    _BYTES_READ_LABEL: "tab:purple",
}
# Physical references drawn on the time axis: what -> (label, marker, line style).
_TIME_REFERENCE_STYLES = {HASHLIB_NS: ("hashlib", "^", "--"), COREUTILS_NS: ("md5sum/sha256sum", "v", "--")}
_DPI = 120
_ROW_HEIGHT_INCHES = 0.28
_UNIT_MULTIPLIERS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "kib": 2**10,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
}
_SIZE_TOKEN = re.compile(r"^[a-z]*?(\d+(?:\.\d+)?)([kmg]?i?b?)$")


def write_charts(run: RunResult, run_dir: Path) -> list[Path]:
    """Write every chart the run has data for into ``run_dir``; return their paths."""
    run_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    if run.pairs:
        paths.append(speedup_chart(run.pairs, run_dir / "speedups.png"))
    by_function: dict[str, list[PairResult]] = defaultdict(list)
    for pair in run.pairs:
        if pair.size is not None and pair.size > 0:
            by_function[pair.function].append(pair)
    for function, pairs in sorted(by_function.items()):
        if len({pair.size for pair in pairs}) > 1:
            chart_path = run_dir / f"scaling_{function}.png"
            paths.append(scaling_chart(function, pairs, chart_path, run.physical_references))
    with_memory = [
        pair for pair in run.pairs if pair.python_memory is not None or pair.rust_memory is not None
    ]
    if with_memory:
        paths.append(memory_chart(with_memory, run_dir / "memory.png"))
    return paths


def speedup_chart(pairs: Sequence[PairResult], path: Path) -> Path:
    """Speedups with their 95% intervals (log x-axis), the claim of each row marked with a black bar."""
    from matplotlib.lines import Line2D  # noqa: PLC0415  (see TYPE_CHECKING above)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: PLC0415

    labels = [f"{pair.function} / {pair.workload}" for pair in pairs]
    rows = list(range(len(pairs)))[::-1]  # first pair at the top
    figure, axes = _new_figure(10, 1.5 + _ROW_HEIGHT_INCHES * len(pairs))
    for row, pair in zip(rows, pairs, strict=True):
        colour = _VERDICT_COLOURS[pair.verdict]
        axes.errorbar(
            pair.speedup.value,
            row,
            xerr=[[pair.speedup.value - pair.speedup.ci_low], [pair.speedup.ci_high - pair.speedup.value]],
            fmt="o",
            color=colour,
            markersize=4,
            capsize=3,
        )
        if pair.claimed_speedup is not None:
            axes.plot(pair.claimed_speedup, row, marker="|", color="black", markersize=12, markeredgewidth=2)
    axes.axvline(1.0, color="gray", linestyle="--", linewidth=1)
    axes.set_xscale("log")
    # Labels at 1-2-5 steps: decades alone leave most speedups between two labels.
    axes.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}x"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_yticks(rows, labels, fontsize=8)
    axes.set_ylim(-1, len(pairs))
    axes.set_xlabel("speedup = Python time / Rust time (log scale; dashed: equal speed)")
    axes.set_title("Speedup per function and workload, 95% interval; black bar = claim")
    handles = [
        Line2D([], [], color=colour, marker="o", linestyle="", label=str(verdict))
        for verdict, colour in _VERDICT_COLOURS.items()
    ]
    handles.append(Line2D([], [], color="black", marker="|", linestyle="", markersize=10, label="claim"))
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    axes.grid(axis="x", which="both", alpha=0.3)
    return _save(figure, path)


def scaling_chart(
    function: str, pairs: Sequence[PairResult], path: Path, references: Mapping[str, float] | None = None
) -> Path:
    """Median time against size on log-log axes: one panel per workload variant, with the references.

    A panel per variant (``md5-*`` and ``sha256-*``; ``*-n10``, ``*-n1000`` ...) on shared axes keeps each
    panel to a few lines a reader can follow, and one legend beside all panels never covers data. References
    of time (hashlib, md5sum/sha256sum) are extra lines on the time axis; bytes read per call go on a second
    axis at the right, so a reader sees whether the time follows the file size or the bytes read.
    """
    variants: dict[str, list[PairResult]] = defaultdict(list)
    for pair in pairs:
        variants[series_key(pair.workload, pair.size)].append(pair)
    figure, panels = _panel_grid(len(variants))
    for axes, (variant, variant_pairs) in zip(panels, sorted(variants.items()), strict=False):
        _scaling_panel(
            axes, variant, sorted(variant_pairs, key=lambda pair: pair.size or 0.0), references or {}
        )
    for unused in panels[len(variants) :]:
        unused.set_visible(False)
    unit = pairs[0].size_unit or "size"
    figure.suptitle(f"{function}: time against input size (log-log)", x=0.01, ha="left")
    figure.supxlabel(f"input size ({unit})")
    figure.supylabel("median time per call (ns)")
    handles: dict[str, Artist] = {}
    for axes in figure.axes:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(handles.values(), handles.keys(), loc="outside right upper")
    return _save(figure, path)


_PANEL_COLUMNS = 3


def _panel_grid(count: int) -> tuple[Figure, list[Axes]]:
    """Up to three panels a row, sharing both axes, laid out so that the figure legend sits outside them."""
    import matplotlib  # noqa: PLC0415  (see TYPE_CHECKING above)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    columns = min(count, _PANEL_COLUMNS)
    rows = math.ceil(count / columns)
    figure, grid = pyplot.subplots(
        rows,
        columns,
        figsize=(4.0 + 4.0 * columns, 1.8 + 3.2 * rows),  # room at the right for the legend
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    return figure, [axes for row in grid for axes in row]


def _scaling_panel(
    axes: Axes, variant: str, pairs: Sequence[PairResult], references: Mapping[str, float]
) -> None:
    """One variant: Python and Rust, the time references and (right-hand axis) the bytes read per call."""
    sizes = [pair.size or 0.0 for pair in pairs]
    found = [references_of(references, pair.function, pair.workload) for pair in pairs]
    lines = [
        ("Python", "o", "-", [pair.python.median_ns for pair in pairs]),
        ("Rust", "s", "-", [pair.rust.median_ns for pair in pairs]),
    ]
    for what, (label, marker, style) in _TIME_REFERENCE_STYLES.items():
        lines.append((label, marker, style, [values.get(what, math.nan) for values in found]))
    for label, marker, style, values_ns in lines:
        if not all(math.isnan(value) for value in values_ns):
            axes.plot(
                sizes, values_ns, marker=marker, linestyle=style, color=_SIDE_COLOURS[label], label=label
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_title(variant, fontsize=9)
    axes.grid(which="both", alpha=0.3)
    bytes_read = [values.get(BYTES_READ_PER_CALL, math.nan) for values in found]
    if not all(math.isnan(value) for value in bytes_read):
        bytes_axes = axes.twinx()
        bytes_axes.plot(
            sizes,
            bytes_read,
            marker="x",
            linestyle=":",
            color=_SIDE_COLOURS[_BYTES_READ_LABEL],
            label=f"{_BYTES_READ_LABEL} (right axis)",
        )
        bytes_axes.set_yscale("log")


def memory_chart(pairs: Sequence[PairResult], path: Path) -> Path:
    """Bytes allocated per call per side (log x-axis); a side that allocated nothing is drawn at the axis."""
    labels = [f"{pair.function} / {pair.workload}" for pair in pairs]
    rows = list(range(len(pairs)))[::-1]
    bar_height = 0.4
    python_bytes = [pair.python_memory.alloc_bytes_per_call if pair.python_memory else 0.0 for pair in pairs]
    rust_bytes = [pair.rust_memory.alloc_bytes_per_call if pair.rust_memory else 0.0 for pair in pairs]
    positive = [value for value in (*python_bytes, *rust_bytes) if value > 0]
    axis_floor = 10 ** math.floor(math.log10(min(positive))) if positive else 1.0
    figure, axes = _new_figure(10, 1.5 + _ROW_HEIGHT_INCHES * len(pairs))
    axes.barh(
        [row + bar_height / 2 for row in rows],
        [max(value, axis_floor) for value in python_bytes],
        height=bar_height,
        color=_SIDE_COLOURS["Python"],
        label="Python",
    )
    axes.barh(
        [row - bar_height / 2 for row in rows],
        [max(value, axis_floor) for value in rust_bytes],
        height=bar_height,
        color=_SIDE_COLOURS["Rust"],
        label="Rust",
    )
    for row, python_value, rust_value in zip(rows, python_bytes, rust_bytes, strict=True):
        for offset, value in ((bar_height / 2, python_value), (-bar_height / 2, rust_value)):
            if value <= 0:  # nothing to draw on a log axis: say it
                axes.text(axis_floor, row + offset, " 0 B", va="center", fontsize=7)
    axes.set_xscale("log")
    axes.set_xlim(left=axis_floor)
    axes.set_yticks(rows, labels, fontsize=8)
    axes.set_xlabel("bytes allocated per call (C allocator + pymalloc, log scale)")
    axes.set_title("Memory allocated per call")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    axes.grid(axis="x", which="both", alpha=0.3)
    return _save(figure, path)


def series_key(workload: str, size: float | None) -> str:
    """The workload id without its size token, so one variant's sizes join into one line.

    ``log_4KiB_n10`` at size 4096 gives ``log_*_n10``. The size token is the one whose number times its
    unit (``KiB``, ``MB``, ``k`` ...) equals ``size``; if no token matches, the workload is its own series.
    """
    if size is None:
        return workload
    tokens = re.split(r"([_\-/.:])", workload)
    for index, token in enumerate(tokens):
        match = _SIZE_TOKEN.match(token.lower())
        if match is None or match.group(2) not in _UNIT_MULTIPLIERS:
            continue
        if math.isclose(float(match.group(1)) * _UNIT_MULTIPLIERS[match.group(2)], size, rel_tol=1e-6):
            return "".join([*tokens[:index], "*", *tokens[index + 1 :]])
    return workload


def _new_figure(width_inches: float, height_inches: float) -> tuple[Figure, Axes]:
    """A figure and its axes on the Agg backend (files only, never a window)."""
    import matplotlib  # noqa: PLC0415  (see TYPE_CHECKING above)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    return pyplot.subplots(figsize=(width_inches, height_inches))


def _save(figure: Figure, path: Path) -> Path:
    from matplotlib import pyplot  # noqa: PLC0415

    if figure.get_layout_engine() is None:  # panels of the scaling charts lay themselves out (constrained)
        figure.tight_layout()
    with open_atomic_binary(path) as handle:
        figure.savefig(handle, dpi=_DPI, format=path.suffix.lstrip("."))
    pyplot.close(figure)
    return path
