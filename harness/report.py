"""``report.md`` of one run: every figure comes from the ``RunResult``, nothing is typed in by hand.

Sections: the machine; the global claims (average speedup as a geometric mean with its interval, memory
reduction, start-up); speedups per function and workload against their claims; each time next to the call
floor and the timing loop's own overhead; the Criterion split of each Rust time into work and crossing cost;
memory; scaling with the physical references (hashlib and coreutils throughput, bytes read per call); pairs
that were not comparable; fallback counts; gate comparisons; what was interrupted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from harness.atomic import write_text_atomic
from harness.claims import CLAIMED_IMPORT_TIME_NS, CLAIMED_MEAN_SPEEDUP, CLAIMED_MEMORY_REDUCTION_RANGE
from harness.environment import ENVIRONMENT_KEYS
from harness.formatting import format_bytes, format_count, format_ns, format_percent, format_ratio
from harness.references import BYTES_READ_PER_CALL, COREUTILS_NS, HASHLIB_NS, references_of
from harness.registry import FUNCTIONS
from harness.report_floors import floors_section, reachable_claim_row
from harness.results import PairResult, RunResult, Speedup, Verdict
from harness.stats import (
    TARGET_RELATIVE_REACH,
    geometric_mean_speedup,
    import_time_within_claim,
    memory_reduction,
    pair_memory_reduction,
    rounds_look_bimodal,
)

REPORT_FILENAME = "report.md"
STARTUP_MODULE = "sky_rs"  # the import_time_ns entry the start-up claim is about

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


# --- formatting ---------------------------------------------------------------------------------------------


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


def _global_claims_section(run: RunResult) -> list[str]:
    rows: list[tuple[str, str, str, str]] = []
    average_claim = f"average speedup {CLAIMED_MEAN_SPEEDUP:g}x"
    average = geometric_mean_speedup(run.pairs) if run.pairs else None
    if average is None:
        rows.append((average_claim, "no pairs measured", "-", "-"))
    else:
        rows.append(
            (
                average_claim,
                f"{format_ratio(average.speedup.value)} "
                f"(geometric mean over {average.function_count} functions)",
                f"[{average.speedup.ci_low:.3g}, {average.speedup.ci_high:.3g}]",
                str(average.verdict),
            )
        )
    if (reachable_row := reachable_claim_row(run, format_ratio)) is not None:
        rows.append(reachable_row)
    reduction = memory_reduction(run.pairs)
    low, high = reduction.claimed_range
    if reduction.median_reduction is None:
        memory_verdict = "not measured"
    elif reduction.within_claim:
        memory_verdict = str(Verdict.CONFIRMED)
    elif reduction.median_reduction > high:
        memory_verdict = "exceeded (Rust allocates even less)"
    else:
        memory_verdict = str(Verdict.REFUTED)
    rows.append(
        (
            f"memory {low * 100:.0f}-{high * 100:.0f}% lower",
            f"{format_percent(reduction.median_reduction)} fewer bytes/call "
            f"(median over {len(reduction.per_pair)} pairs)",
            "-",
            memory_verdict,
        )
    )
    startup_claim = f"start-up under {format_ns(CLAIMED_IMPORT_TIME_NS)}"
    startup_ns = run.import_time_ns.get(STARTUP_MODULE)
    if startup_ns is None:
        rows.append((startup_claim, "not measured", "-", "-"))
    else:
        startup_verdict = Verdict.CONFIRMED if import_time_within_claim(startup_ns) else Verdict.REFUTED
        rows.append(
            (
                startup_claim,
                f"{format_ns(startup_ns)} to import {STARTUP_MODULE}",
                "-",
                str(startup_verdict),
            )
        )
    lines = ["## Global claims", "", *markdown_table(("claim", "measured", "95% interval", "verdict"), rows)]
    others = {module: ns for module, ns in run.import_time_ns.items() if module != STARTUP_MODULE}
    if others:
        lines += ["", "Other import times: " + ", ".join(f"{m} {format_ns(ns)}" for m, ns in others.items())]
    lines.append("")
    if average is not None:
        lines.append(f"Average: {average.speedup.method}; each function weighs the same.")
    lines += [
        "Memory: 1 - Rust bytes/call / Python bytes/call per pair (bytes requested from Python's and C's "
        "allocators), pairs where Python allocates nothing left out.",
        "",
    ]
    return lines


def format_reach(speedup: Speedup) -> str:
    """Both ends of the interval against the value, e.g. ``-8.8% / +1.3%`` (intervals are often lopsided)."""
    return f"-{speedup.relative_reach_below * 100:.1f}% / +{speedup.relative_reach_above * 100:.1f}%"


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
        "wholly below.",
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


def _memory_section(run: RunResult) -> list[str]:
    lines = ["## Memory", ""]
    rows = []
    for pair in run.pairs:
        python_memory, rust_memory = pair.python_memory, pair.rust_memory
        if python_memory is None and rust_memory is None:
            continue
        reduction = pair_memory_reduction(pair)
        low, _ = CLAIMED_MEMORY_REDUCTION_RANGE
        rows.append(
            (
                pair.function,
                pair.workload,
                format_bytes(python_memory.alloc_bytes_per_call if python_memory else None),
                format_bytes(rust_memory.alloc_bytes_per_call if rust_memory else None),
                format_percent(reduction)
                + (" (below claim)" if reduction is not None and reduction < low else ""),
                format_count(python_memory.allocs_per_call) if python_memory else "-",
                format_count(rust_memory.allocs_per_call) if rust_memory else "-",
                format_bytes(python_memory.peak_rss_bytes if python_memory else None),
                format_bytes(rust_memory.peak_rss_bytes if rust_memory else None),
            )
        )
    if not rows:
        return [*lines, "Memory was not measured in this run.", ""]
    header = (
        "function",
        "workload",
        "Python bytes/call",
        "Rust bytes/call",
        "reduction",
        "Python allocs/call",
        "Rust allocs/call",
        "Python peak RSS",
        "Rust peak RSS",
    )
    return [
        *lines,
        *markdown_table(header, rows),
        "",
        "Bytes and allocations per call are counted at the C allocator and pymalloc (memray), so Rust's "
        "allocations are included; the tracker's own frame objects and an empty loop's cost are subtracted, "
        "and objects CPython recycles from its free lists are not allocations. Peak RSS is the growth of a "
        "fresh process's resident set while it runs the workload, measured for large workloads only.",
        "",
    ]


# How report.md names each kind of physical reference (harness.references), in column order.
_REFERENCE_LABELS = {
    HASHLIB_NS: "hashlib (OpenSSL)",
    COREUTILS_NS: "md5sum/sha256sum",
    BYTES_READ_PER_CALL: "bytes read per call",
}


def _format_reference(what: str, value: float | None) -> str:
    if value is None:
        return "-"
    return format_ns(value) if what.endswith("_ns") else format_bytes(value)


def _scaling_section(run: RunResult) -> list[str]:
    by_function: dict[str, list[PairResult]] = defaultdict(list)
    for pair in run.pairs:
        if pair.size is not None:
            by_function[pair.function].append(pair)
    scaled = {function: pairs for function, pairs in by_function.items() if len({p.size for p in pairs}) > 1}
    lines = ["## Scaling", ""]
    if not scaled:
        return [*lines, "No function was measured at more than one size in this run.", ""]
    for function, pairs in sorted(scaled.items()):
        pairs.sort(key=lambda pair: (pair.size or 0.0, pair.workload))
        references = {
            pair.workload: references_of(run.physical_references, pair.function, pair.workload)
            for pair in pairs
        }
        kinds = [what for what in _REFERENCE_LABELS if any(what in found for found in references.values())]
        rows = [
            [
                pair.workload,
                format_size(pair.size, pair.size_unit),
                format_ns(pair.python.median_ns),
                format_ns(pair.rust.median_ns),
                format_ratio(pair.speedup.value),
                *(_format_reference(what, references[pair.workload].get(what)) for what in kinds),
            ]
            for pair in pairs
        ]
        header = (
            "workload",
            "size",
            "Python",
            "Rust",
            "speedup",
            *(_REFERENCE_LABELS[what] for what in kinds),
        )
        lines += [f"### {function}", "", *markdown_table(header, rows), ""]
        time_kinds = [what for what in kinds if what.endswith("_ns")]
        if time_kinds:
            lines += _throughput_table(pairs, references, time_kinds)
    return lines


def _throughput_table(
    pairs: Sequence[PairResult], references: Mapping[str, Mapping[str, float]], kinds: Sequence[str]
) -> list[str]:
    """MB/s of each side and of each time reference, for the pairs that have a reference."""
    rows = [
        [
            pair.workload,
            format_size(pair.size, pair.size_unit),
            _megabytes_per_second(pair.size, pair.python.median_ns),
            _megabytes_per_second(pair.size, pair.rust.median_ns),
            *(_megabytes_per_second(pair.size, references[pair.workload].get(what)) for what in kinds),
        ]
        for pair in pairs
        if references[pair.workload] and pair.size_unit == "bytes"
    ]
    if not rows:
        return []
    header = (
        "workload",
        "size",
        "Python MB/s",
        "Rust MB/s",
        *(f"{_REFERENCE_LABELS[w]} MB/s" for w in kinds),
    )
    notes = []
    if HASHLIB_NS in kinds:
        notes.append(
            "hashlib: open, hashlib.new and a readinto loop over 256 KiB blocks into one reused buffer, then "
            ".digest(), in Python: on large files OpenSSL's hashing speed, the floor for either port; on "
            "small files mostly Python's own cost of opening and reading, which a port can beat"
        )
    if COREUTILS_NS in kinds:
        notes.append("md5sum/sha256sum: one subprocess per file, so its time includes starting the process")
    return [*markdown_table(header, rows), "", "MB = 10^6 bytes. " + "; ".join(notes) + ".", ""]


def _megabytes_per_second(size_bytes: float | None, median_ns: float | None) -> str:
    if size_bytes is None or median_ns is None or median_ns <= 0:
        return "-"
    return format_count(size_bytes / median_ns * 1e3)  # bytes/ns = 10^9 B/s = 10^3 MB/s


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
    return ["## Calls served by harness.fallback", "", *markdown_table(("function/impl", "calls"), rows), ""]


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
        _global_claims_section(run),
        _speedup_section(run),
        _floor_section(run),
        floors_section(run, format_ns, format_ratio, markdown_table),
        _criterion_section(run),
        _memory_section(run),
        _scaling_section(run),
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
