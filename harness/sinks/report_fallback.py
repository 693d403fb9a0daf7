"""The fallback part of ``report.md``: what callers get through ``harness.functions.fallback``.

Per pair the fallback routes: the three medians, the direct speedup (Python / Rust), the production speedup
(Python / fallback) and the dispatch overhead (fallback - Rust), each with its 95% interval from the same
paired rounds. A pair whose production speedup lies wholly below 1 is flagged: callers would be better off
with the Python reference.
"""

from __future__ import annotations

from harness.results import Difference, PairResult, RunResult
from harness.sinks.formatting import format_ns, format_ratio, markdown_table
from harness.stats import fallback_slower_than_python

SLOWER_FLAG = "**slower than Python**"


def format_overhead(overhead: Difference) -> str:
    """``+1.4 us [+1.3 us, +1.5 us]``: a difference may be negative, format_ns takes magnitudes."""

    def signed(value_ns: float) -> str:
        return ("-" if value_ns < 0 else "+") + format_ns(abs(value_ns))

    low, high = signed(overhead.ci_low_ns), signed(overhead.ci_high_ns)
    return f"{signed(overhead.value_ns)} [{low}, {high}]"


def production_cell(pair: PairResult) -> str:
    """The speedup table's column: the production speedup, flagged when the fallback loses to Python."""
    production = pair.production_speedup
    if production is None:
        return "-"
    flag = f" {SLOWER_FLAG}" if fallback_slower_than_python(pair) else ""
    return format_ratio(production.value) + flag


def _row(pair: PairResult) -> tuple[str, ...] | None:
    production, overhead, fallback = pair.production_speedup, pair.dispatch_overhead, pair.fallback
    if production is None or overhead is None or fallback is None:
        return None
    return (
        pair.function,
        pair.workload,
        format_ns(pair.python.median_ns),
        format_ns(pair.rust.median_ns),
        format_ns(fallback.median_ns),
        format_ratio(pair.speedup.value),
        f"{format_ratio(production.value)} [{production.ci_low:.3g}, {production.ci_high:.3g}]",
        format_overhead(overhead),
        SLOWER_FLAG if fallback_slower_than_python(pair) else "",
    )


def fallback_timing_section(run: RunResult) -> list[str]:
    """The table of the pairs timed through the fallback; nothing when none was."""
    rows = [row for pair in run.pairs if (row := _row(pair)) is not None]
    if not rows:
        return []
    header = (
        "function",
        "workload",
        "Python median",
        "Rust median",
        "fallback median",
        "direct speedup",
        "production speedup [95%]",
        "dispatch overhead [95%]",
        "",
    )
    slower = sum(fallback_slower_than_python(pair) for pair in run.pairs)
    return [
        "## What callers get: the fallback path (Python time / fallback time)",
        "",
        *markdown_table(header, rows),
        "",
        "The fallback (`harness.functions.fallback`, what SkyPilot's code calls) is timed as a third side in "
        "the same interleaved rounds as Rust and Python. *Production speedup* = Python / fallback, "
        "*dispatch overhead* = fallback - Rust per call (median of per-round differences), both with a "
        f"percentile bootstrap over rounds. {slower} pair(s) are {SLOWER_FLAG}: the whole interval of the "
        "production speedup is below 1.",
        "",
    ]
