"""PNG charts of one run (matplotlib, Agg backend): speedups, scaling curves, memory per function.

- ``speedups.png``: one row per function x workload, the speedup with its 95% interval on a log axis, the
  claim marked on the same row, colour by verdict;
- ``scaling_<function>.png``: median time against input size on log-log axes, one line per side and workload
  variant (for functions measured at more than one size), and the physical references (hashlib and
  md5sum/sha256sum times; bytes read per call on a second axis);
- ``memory.png``: bytes allocated per call, Python and Rust side by side, on a log axis.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.references import BYTES_READ_PER_CALL, COREUTILS_NS, HASHLIB_NS, references_of
from harness.results import PairResult, RunResult, Verdict

if TYPE_CHECKING:
    # matplotlib takes about a second to import: the chart functions import it when they run, so that
    # importing this module (the command line does, through harness.outputs) stays cheap.
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
    """Median time against size on log-log axes, per side and workload variant, with the physical references.

    Time references (hashlib, md5sum/sha256sum) are extra lines on the time axis; bytes read per call go on
    a second axis at the right, so a reader sees whether the time follows the file size or the bytes read.
    """
    series: dict[str, list[PairResult]] = defaultdict(list)
    for pair in pairs:
        series[series_key(pair.workload, pair.size)].append(pair)
    figure, axes = _new_figure(8, 5.5)
    bytes_axes: Axes | None = None
    for variant, unsorted_pairs in sorted(series.items()):
        variant_pairs = sorted(unsorted_pairs, key=lambda pair: pair.size or 0.0)
        suffix = f" ({variant})" if len(series) > 1 else ""
        alpha = _variant_alpha(variant, series)
        lines = [
            ("Python", "o", "-", [pair.python.median_ns for pair in variant_pairs]),
            ("Rust", "s", "-", [pair.rust.median_ns for pair in variant_pairs]),
        ]
        found = [references_of(references or {}, pair.function, pair.workload) for pair in variant_pairs]
        for what, (label, marker, style) in _TIME_REFERENCE_STYLES.items():
            lines.append((label, marker, style, [values.get(what, math.nan) for values in found]))
        sizes = [pair.size or 0.0 for pair in variant_pairs]
        for label, marker, style, values_ns in lines:
            if all(math.isnan(value) for value in values_ns):
                continue
            axes.plot(
                sizes,
                values_ns,
                marker=marker,
                linestyle=style,
                color=_SIDE_COLOURS[label],
                alpha=alpha,
                label=f"{label}{suffix}",
            )
        bytes_read = [values.get(BYTES_READ_PER_CALL, math.nan) for values in found]
        if not all(math.isnan(value) for value in bytes_read):
            bytes_axes = bytes_axes or axes.twinx()
            bytes_axes.plot(
                sizes,
                bytes_read,
                marker="x",
                linestyle=":",
                color=_SIDE_COLOURS[_BYTES_READ_LABEL],
                alpha=alpha,
                label=f"{_BYTES_READ_LABEL}{suffix}",
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    unit = pairs[0].size_unit or "size"
    axes.set_xlabel(f"input size ({unit}, log scale)")
    axes.set_ylabel("median time per call (ns, log scale)")
    axes.set_title(f"{function}: time against input size")
    axes.grid(which="both", alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    if bytes_axes is not None:
        bytes_axes.set_yscale("log")
        bytes_axes.set_ylabel("bytes read per call (dotted, log scale)")
        more_handles, more_labels = bytes_axes.get_legend_handles_labels()
        handles, labels = [*handles, *more_handles], [*labels, *more_labels]
    axes.legend(handles, labels, fontsize=7, ncol=2 if len(labels) > 6 else 1)
    return _save(figure, path)


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


def _variant_alpha(variant: str, series: dict[str, list[PairResult]]) -> float:
    """Variants of one function get fading shades of their side's colour, in a stable order."""
    ordered = sorted(series)
    return 1.0 - 0.6 * ordered.index(variant) / max(1, len(ordered) - 1)


def _new_figure(width_inches: float, height_inches: float) -> tuple[Figure, Axes]:
    """A figure and its axes on the Agg backend (files only, never a window)."""
    import matplotlib  # noqa: PLC0415  (see TYPE_CHECKING above)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    return pyplot.subplots(figsize=(width_inches, height_inches))


def _save(figure: Figure, path: Path) -> Path:
    from matplotlib import pyplot  # noqa: PLC0415

    figure.tight_layout()
    figure.savefig(path, dpi=_DPI)
    pyplot.close(figure)
    return path
