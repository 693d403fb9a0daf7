"""``report.md`` of one run: every figure comes from the ``RunResult``, nothing is typed in by hand.

Sections: the machine; the global claims (``harness.sinks.report_claims``); speedups per function and workload
against their claims; what callers get through the fallback (``harness.sinks.report_fallback``); each
time next to the call floor and the timing loop's own overhead; the physical floors
(``harness.sinks.report_floors``); the Criterion split of each Rust time into work and crossing cost;
memory; scaling with the physical references (``harness.sinks.report_scaling``); pairs that were not
comparable; fallback counts; gate comparisons; what was interrupted. Numbers are written by
``harness.sinks.formatting``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from harness.atomic import write_text_atomic
from harness.functions.claims import CLAIMED_MEMORY_REDUCTION_RANGE
from harness.functions.registry import FUNCTIONS
from harness.measure.environment import ENVIRONMENT_KEYS
from harness.results import PairResult, RunResult, Verdict
from harness.sinks.formatting import (
    format_bytes,
    format_count,
    format_ns,
    format_percent,
    format_ratio,
    format_reach,
    markdown_table,
)
from harness.sinks.report_claims import global_claims_section
from harness.sinks.report_fallback import fallback_timing_section, production_cell
from harness.sinks.report_floors import floors_section
from harness.sinks.report_scaling import scaling_section
from harness.sinks.report_summary import claims_summary_section
from harness.stats import TARGET_RELATIVE_REACH, pair_memory_reduction, rounds_look_bimodal

__all__ = [
    "FLOOR_MULTIPLE",
    "REPORT_FILENAME",
    "is_floor_bound",
    "max_possible_speedup",
    "pair_key",
    "render_report",
    "write_report",
]

REPORT_FILENAME = "report.md"

# A function whose Python time is under this multiple of the Rust call floor cannot be sped up by more
# than this factor even if the Rust body took no time at all.
FLOOR_MULTIPLE = 5.0


def pair_key(pair: PairResult) -> str:
    """``"function/workload"``: how Criterion times, baselines and physical references name a pair."""
    return f"{pair.function}/{pair.workload}"


def max_possible_speedup(pair: PairResult, floor: PairResult | None) -> float | None:
    """Python time / Rust call floor: the speedup of a port whose body costs nothing."""
    if floor is None:
        return None
    return pair.python.median_ns / floor.rust.median_ns


def is_floor_bound(pair: PairResult, floor: PairResult | None) -> bool:
    """True if even a free Rust body could not make this call ``FLOOR_MULTIPLE`` times faster."""
    ceiling = max_possible_speedup(pair, floor)
    return ceiling is not None and ceiling < FLOOR_MULTIPLE


# --- sections ---------------------------------------------------------------------------------------------


def _heading(run: RunResult) -> list[str]:
    started = datetime.fromtimestamp(run.started_at_unix_s, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"# skybench run {run.run_id}",
        "",
        f"Mode **{run.mode}**, started {started}, took {run.duration_seconds:.0f} s. "
        f"{len(run.pairs)} pairs timed, {len(run.not_comparable)} not comparable.",
        "",
    ]
    if run.interrupted:
        seen = {pair.function for pair in run.pairs} | {item.function for item in run.not_comparable}
        missing = [function for function in FUNCTIONS if function not in seen]
        lines += [
            "> **This run was interrupted (Ctrl-C).** Everything below was measured; pairs that are missing "
            "were not.",
            "> Functions without any result: " + (", ".join(missing) if missing else "none") + ".",
            "",
        ]
    return lines


def _machine_section(run: RunResult) -> list[str]:
    keys = [key for key in ENVIRONMENT_KEYS if key in run.environment]
    keys += sorted(key for key in run.environment if key not in ENVIRONMENT_KEYS)
    rows = [(key, str(run.environment[key])) for key in keys]
    return ["## Machine", "", *markdown_table(("key", "value"), rows), ""]


def _speedup_row(pair: PairResult, bimodal: bool) -> tuple[str, ...]:
    speedup = pair.speedup
    wide = speedup.relative_reach > TARGET_RELATIVE_REACH
    return (
        pair.function,
        pair.workload,
        format_ns(pair.python.median_ns),
        format_ns(pair.rust.median_ns),
        format_ratio(speedup.value),
        f"[{speedup.ci_low:.3g}, {speedup.ci_high:.3g}]",
        format_reach(speedup) + (" (wide)" if wide else ""),
        "bimodal" if bimodal else "",
        format_ratio(pair.claimed_speedup),
        f"**{pair.verdict}**" if pair.verdict is Verdict.REFUTED else str(pair.verdict),
        production_cell(pair),
    )


def _speedup_section(run: RunResult) -> list[str]:
    looks_bimodal = [rounds_look_bimodal(pair) for pair in run.pairs]  # two tests per pair: once each
    rows = [_speedup_row(pair, flag) for pair, flag in zip(run.pairs, looks_bimodal, strict=True)]
    too_wide = sum(pair.speedup.relative_reach > TARGET_RELATIVE_REACH for pair in run.pairs)
    bimodal = sum(looks_bimodal)
    header = (
        "function",
        "workload",
        "Python median",
        "Rust median",
        "speedup",
        "95% interval",
        "interval ends",
        "rounds",
        "claim",
        "verdict",
        "via fallback",
    )
    methods = sorted({pair.speedup.method for pair in run.pairs})
    lines = ["## Speedups (Python time / Rust time)", "", *markdown_table(header, rows), ""]
    if methods:
        lines.append(f"Intervals: {'; '.join(methods)}.")
    target = f"{TARGET_RELATIVE_REACH * 100:.0f}%"
    lines += [
        f"{too_wide} of {len(run.pairs)} intervals reach more than {target} below or above their value "
        f"(marked *wide*; the rounds stop adding once both ends are within {target}). {bimodal} pair(s) have "
        "rounds that look *bimodal* (two modes, or a tail of slow rounds: Hartigan's dip test p < 0.05 or "
        "Sarle's bimodality coefficient > 5/9 of the per-round ratios): their median can move with the load. "
        "A verdict is *confirmed* when the whole interval is at or above the claim, *refuted* when it is "
        "wholly below. *Via fallback* is the production speedup, Python / fallback (next section).",
        "",
    ]
    return lines


def _floor_section(run: RunResult) -> list[str]:
    floor = run.call_floor
    lines = ["## Call floor", ""]
    if floor is None:
        return [*lines, "The call floor (no-op functions) was not measured in this run.", ""]
    lines += [
        f"A no-op call costs {format_ns(floor.python.median_ns)} in Python and "
        f"{format_ns(floor.rust.median_ns)} through PyO3{_overhead_clause(run)}. *Max speedup* is Python "
        "time / Rust floor: what a port whose body took no time would reach. Functions under "
        f"{FLOOR_MULTIPLE:g}x are flagged **too small for any port to pay off**.",
        "",
    ]
    rows = []
    for pair in run.pairs:
        ceiling = max_possible_speedup(pair, floor)
        rows.append(
            (
                pair.function,
                pair.workload,
                format_ns(pair.python.median_ns),
                format_ratio(pair.python.median_ns / floor.python.median_ns),
                format_ns(pair.rust.median_ns),
                format_ratio(pair.rust.median_ns / floor.rust.median_ns),
                format_ratio(ceiling),
                "**too small for any port to pay off**" if is_floor_bound(pair, floor) else "",
            )
        )
    header = (
        "function",
        "workload",
        "Python",
        "x Python floor",
        "Rust",
        "x Rust floor",
        "max speedup",
        "flag",
    )
    return [*lines, *markdown_table(header, rows), ""]


def _overhead_clause(run: RunResult) -> str:
    if run.timer_overhead_ns is None:
        return " (the timing loop's own cost was not measured)"
    return (
        f"; the timing loop itself (the worker's timed loop with no call in it, calibrated and repeated as "
        f"the pairs are) adds {format_ns(run.timer_overhead_ns)} of that, and of every time in this report, "
        "on both sides alike"
    )


def _criterion_section(run: RunResult) -> list[str]:
    lines = ["## Rust time split: work (Criterion, no Python) and crossing cost", ""]
    rows = []
    for pair in run.pairs:
        work_ns = run.rust_native_ns.get(pair_key(pair))
        if work_ns is None:
            continue
        crossing_ns = pair.rust.median_ns - work_ns
        rows.append(
            (
                pair.function,
                pair.workload,
                format_ns(pair.rust.median_ns),
                format_ns(work_ns),
                format_ns(crossing_ns),
                format_percent(crossing_ns / pair.rust.median_ns),
            )
        )
    if not rows:
        return [
            *lines,
            "No Criterion time matches a timed pair in this run (Criterion not run or failed).",
            "",
        ]
    header = ("function", "workload", "Rust via PyO3", "work (Criterion)", "crossing cost", "crossing share")
    return [
        *lines,
        *markdown_table(header, rows),
        "",
        "Crossing cost = PyO3 median - Criterion median: argument conversion, the call and the result's "
        "conversion. A negative value means the two measurements disagree by more than the crossing costs.",
        "",
    ]


def _memory_row(pair: PairResult, with_fallback: bool) -> tuple[str, ...]:
    """Python and Rust (and, with ``with_fallback``, the fallback) side by side; "-" where not measured."""
    sides = (pair.python_memory, pair.rust_memory) + ((pair.fallback_memory,) if with_fallback else ())
    reduction = pair_memory_reduction(pair)
    low, _ = CLAIMED_MEMORY_REDUCTION_RANGE
    return (
        pair.function,
        pair.workload,
        *(format_bytes(memory.alloc_bytes_per_call if memory else None) for memory in sides),
        format_percent(reduction) + (" (below claim)" if reduction is not None and reduction < low else ""),
        *(format_count(memory.allocs_per_call) if memory else "-" for memory in sides),
        *(format_bytes(memory.peak_rss_bytes if memory else None) for memory in sides),
    )


def _memory_section(run: RunResult) -> list[str]:
    lines = ["## Memory", ""]
    measured = [pair for pair in run.pairs if pair.python_memory is not None or pair.rust_memory is not None]
    if not measured:
        return [*lines, "Memory was not measured in this run.", ""]
    # The fallback's columns only where it was measured: runs without it read as they always did.
    with_fallback = any(pair.fallback_memory is not None for pair in measured)
    names = ("Python", "Rust", "Fallback") if with_fallback else ("Python", "Rust")
    header = (
        "function",
        "workload",
        *(f"{name} bytes/call" for name in names),
        "reduction",
        *(f"{name} allocs/call" for name in names),
        *(f"{name} peak RSS" for name in names),
    )
    fallback_note = (
        " The fallback's figures are its own pass over the same calls (what callers' code allocates); it "
        "should allocate about what Rust does, plus what its dispatch costs."
        if with_fallback
        else ""
    )
    return [
        *lines,
        *markdown_table(header, [_memory_row(pair, with_fallback) for pair in measured]),
        "",
        "Bytes and allocations per call are counted at the C allocator and pymalloc (memray), so Rust's "
        "allocations are included; the tracker's own frame objects and an empty loop's cost are subtracted, "
        "and objects CPython recycles from its free lists are not allocations. Peak RSS is the growth of a "
        "fresh process's resident set while it runs the workload, measured for large workloads only."
        + fallback_note,
        "",
    ]


def _not_comparable_section(run: RunResult) -> list[str]:
    if not run.not_comparable:
        return []
    rows = [(item.function, item.workload, item.difference) for item in run.not_comparable]
    return [
        "## Not comparable (outputs differ, not timed)",
        "",
        *markdown_table(("function", "workload", "difference"), rows),
        "",
    ]


def _fallback_section(run: RunResult) -> list[str]:
    if not run.fallback_calls:
        return []
    rows = [(key, str(count)) for key, count in sorted(run.fallback_calls.items())]
    return [
        "## Calls served by harness.functions.fallback",
        "",
        *markdown_table(("function/impl", "calls"), rows),
        "",
    ]


def _gate_section(run: RunResult) -> list[str]:
    if not run.gate:
        return []
    rows = [
        (
            item.function,
            str(item.impl),
            item.workload,
            item.metric,
            format_ratio(item.change_ratio),
            f"[{item.ci_low:.3g}, {item.ci_high:.3g}]",
            "-" if item.p_value_adjusted is None else f"{item.p_value_adjusted:.3g}",
            str(item.outcome),
            item.detail,
        )
        for item in run.gate
    ]
    header = (
        "function",
        "impl",
        "workload",
        "metric",
        "change",
        "95% interval",
        "p (adjusted)",
        "outcome",
        "detail",
    )
    return ["## Gate comparisons", "", *markdown_table(header, rows), ""]


def render_report(run: RunResult) -> str:
    """The whole ``report.md`` text."""
    sections = [
        _heading(run),
        _machine_section(run),
        global_claims_section(run),
        claims_summary_section(run),
        _speedup_section(run),
        fallback_timing_section(run),
        _floor_section(run),
        floors_section(run, format_ns, format_ratio, markdown_table),
        _criterion_section(run),
        _memory_section(run),
        scaling_section(run),
        _not_comparable_section(run),
        _fallback_section(run),
        _gate_section(run),
    ]
    return "\n".join(line for section in sections for line in section).rstrip() + "\n"


def write_report(run: RunResult, run_dir: Path) -> Path:
    """Write ``report.md`` into ``run_dir`` (created if missing) and return its path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / REPORT_FILENAME
    return write_text_atomic(path, render_report(run))
