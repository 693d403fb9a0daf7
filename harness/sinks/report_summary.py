"""The report's one-table summary: per function, its claim, every workload's three speedups and the verdicts.

The README's "Measured" table is this section of one run's ``report.md``, copied as it is: so the figures a
newcomer reads first come from a run of the harness and say which one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from harness.results import PairResult, RunResult, Verdict
from harness.sinks.formatting import format_ratio, markdown_table
from harness.sinks.report_fallback import production_cell

# The order a function's verdicts are counted in: the strongest statement about the claim first.
_VERDICT_ORDER = (Verdict.IMPOSSIBLE, Verdict.REFUTED, Verdict.INCONCLUSIVE, Verdict.CONFIRMED)


def _workload_cell(pair: PairResult) -> str:
    """``1KB-n10 1.9x [1.87, 1.92] / 1.9x / 3.36x``: direct speedup, via the fallback, best possible."""
    speedup = pair.speedup
    best = pair.best_possible_speedup
    return (
        f"{pair.workload} {format_ratio(speedup.value)} [{speedup.ci_low:.3g}, {speedup.ci_high:.3g}]"
        f" / {production_cell(pair)} / {format_ratio(best.value if best is not None else None)}"
    )


def _verdict_counts(pairs: Iterable[PairResult]) -> str:
    counts = Counter(pair.verdict for pair in pairs)
    known = [f"{counts[verdict]} {verdict}" for verdict in _VERDICT_ORDER if counts[verdict]]
    others = [f"{count} {verdict}" for verdict, count in counts.items() if verdict not in _VERDICT_ORDER]
    return "; ".join(known + others)


def _function_rows(run: RunResult) -> list[tuple[str, ...]]:
    by_function: dict[str, list[PairResult]] = {}
    for pair in run.pairs:  # in the run's order: the registry's
        by_function.setdefault(pair.function, []).append(pair)
    return [
        (
            f"`{function}`",
            format_ratio(pairs[0].claimed_speedup),
            "; ".join(_workload_cell(pair) for pair in pairs),
            _verdict_counts(pairs),
        )
        for function, pairs in by_function.items()
    ]


def claims_summary_section(run: RunResult) -> list[str]:
    """One row per function; nothing when the run timed no pair."""
    if not run.pairs:
        return []
    header = (
        "function",
        "claim",
        "per workload: speedup [95% interval] / via the fallback / best possible",
        "verdicts",
    )
    return [
        "## Per function: the claim against the three speedups",
        "",
        *markdown_table(header, _function_rows(run)),
        "",
        "*Speedup*: Python / Rust called directly; *via the fallback*: Python / "
        "`harness.functions.fallback`, what callers get; *best possible*: Python / (physical floor + call "
        "floor), '-' where no floor was measured. The sections below give each figure's interval and method.",
        "",
    ]
