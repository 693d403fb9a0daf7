"""The global-claims part of ``report.md``: the average speedup, what a port could reach at its floors,
memory reduction and start-up, each against the report's claim, and the import times."""

from __future__ import annotations

from harness.functions.claims import CLAIMED_IMPORT_TIME_NS, CLAIMED_MEAN_SPEEDUP
from harness.results import RunResult, Verdict
from harness.sinks.formatting import format_ns, format_percent, format_ratio, markdown_table
from harness.sinks.report_floors import reachable_claim_row
from harness.stats import GlobalSpeedup, geometric_mean_speedup, import_time_within_claim, memory_reduction

STARTUP_MODULE = "sky_rs"  # the import_time_ns entry the start-up claim is about

ClaimRow = tuple[str, str, str, str]  # claim, measured, 95% interval, verdict


def _average_row(average: GlobalSpeedup | None) -> ClaimRow:
    claim = f"average speedup {CLAIMED_MEAN_SPEEDUP:g}x"
    if average is None:
        return (claim, "no pairs measured", "-", "-")
    return (
        claim,
        f"{format_ratio(average.speedup.value)} (geometric mean over {average.function_count} functions)",
        f"[{average.speedup.ci_low:.3g}, {average.speedup.ci_high:.3g}]",
        str(average.verdict),
    )


def _memory_row(run: RunResult) -> ClaimRow:
    reduction = memory_reduction(run.pairs)
    low, high = reduction.claimed_range
    if reduction.median_reduction is None:
        verdict = "not measured"
    elif reduction.within_claim:
        verdict = str(Verdict.CONFIRMED)
    elif reduction.median_reduction > high:
        verdict = "exceeded (Rust allocates even less)"
    else:
        verdict = str(Verdict.REFUTED)
    return (
        f"memory {low * 100:.0f}-{high * 100:.0f}% lower",
        f"{format_percent(reduction.median_reduction)} fewer bytes/call "
        f"(median over {len(reduction.per_pair)} pairs)",
        "-",
        verdict,
    )


def _startup_row(run: RunResult) -> ClaimRow:
    claim = f"start-up under {format_ns(CLAIMED_IMPORT_TIME_NS)}"
    startup_ns = run.import_time_ns.get(STARTUP_MODULE)
    if startup_ns is None:
        return (claim, "not measured", "-", "-")
    verdict = Verdict.CONFIRMED if import_time_within_claim(startup_ns) else Verdict.REFUTED
    return (claim, f"{format_ns(startup_ns)} to import {STARTUP_MODULE}", "-", str(verdict))


def global_claims_section(run: RunResult) -> list[str]:
    """The table of the global claims, the other modules' import times and how the figures were made."""
    average = geometric_mean_speedup(run.pairs) if run.pairs else None
    rows = [_average_row(average)]
    if (reachable_row := reachable_claim_row(run, format_ratio)) is not None:
        rows.append(reachable_row)
    rows += [_memory_row(run), _startup_row(run)]
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
