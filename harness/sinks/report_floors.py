"""The floor parts of ``report.md``: each pair against its physical floor, and the reachable average.

Kept apart from ``harness.sinks.report`` (which calls these) so the report module stays one screen per
section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from harness.functions.claims import CLAIMED_MEAN_SPEEDUP
from harness.results import RunResult, Verdict
from harness.stats import ReachableMean, reachable_mean_speedup

Formatter = Callable[[float | None], str]
Table = Callable[[Sequence[str], Iterable[Sequence[str]]], list[str]]


def reachable_claim_row(run: RunResult, format_ratio: Formatter) -> tuple[str, str, str, str] | None:
    """The global-claims row: which part of the average claim a port at its floors could ever reach."""
    reachable = reachable_mean_speedup(run.pairs)
    if reachable is None:
        return None
    return (
        f"average speedup {CLAIMED_MEAN_SPEEDUP:g}x reachable at all",
        f"best possible {format_ratio(reachable.speedup.value)} (geometric mean over "
        f"{reachable.function_count} functions): {reachable.reachable_fraction * 100:.0f}% of the claim",
        f"[{reachable.speedup.ci_low:.3g}, {reachable.speedup.ci_high:.3g}]",
        _bold_if_impossible(reachable.verdict),
    )


def _bold_if_impossible(verdict: Verdict) -> str:
    return f"**{verdict}**" if verdict is Verdict.IMPOSSIBLE else str(verdict)


def floors_section(run: RunResult, format_ns: Formatter, format_ratio: Formatter, table: Table) -> list[str]:
    """Per pair: Python, Rust, floor, Rust / floor, best possible speedup and interval, claim, verdict."""
    lines = ["## Physical floors and best possible speedups", ""]
    if not run.floors:
        return [*lines, "The physical floors were not measured in this run.", ""]
    rows = []
    for pair in run.pairs:
        key = f"{pair.function}/{pair.workload}"
        floor = run.floors.get(key)
        objects = run.result_object_floors.get(key)
        best = pair.best_possible_speedup
        if floor is None or best is None:
            continue
        rows.append(
            (
                pair.function,
                pair.workload,
                format_ns(pair.python.median_ns),
                format_ns(pair.rust.median_ns),
                f"{format_ns(floor.median_ns)} [{format_ns(floor.ci_low_ns)}, {format_ns(floor.ci_high_ns)}]",
                format_ns(objects.median_ns) if objects is not None else "-",
                format_ratio(pair.rust.median_ns / floor.median_ns),
                format_ratio(best.value),
                f"[{best.ci_low:.3g}, {best.ci_high:.3g}]",
                format_ratio(pair.claimed_speedup),
                _bold_if_impossible(pair.verdict),
            )
        )
    header = (
        "function",
        "workload",
        "Python",
        "Rust",
        "floor [95%]",
        "of it, result objects",
        "Rust / floor",
        "best possible",
        "95% interval",
        "claim",
        "verdict",
    )
    impossible = sum(pair.verdict is Verdict.IMPOSSIBLE for pair in run.pairs)
    reachable = reachable_mean_speedup(run.pairs)
    return [
        *lines,
        *table(header, rows),
        "",
        "Floor: the least work the function's semantics require on the workload (its system calls, the bytes "
        "it must read and hash at OpenSSL's speed), timed by Criterion in Rust with no Python "
        f"(docs/floors.md). {_objects_sentence(run)} For the three string functions it is an efficient "
        "implementation rather than a proven least. Rust / floor includes "
        "the PyO3 crossing. Best possible speedup = Python / (floor + Rust call floor); its interval "
        "propagates all three spreads by bootstrap. A claim above that whole interval, on a pair whose "
        "speedup refutes it, is **impossible** (not merely refuted): "
        f"{impossible} of {len(run.pairs)} pairs.",
        *_reachable_sentence(reachable),
        "",
    ]


def _objects_sentence(run: RunResult) -> str:
    if run.result_object_floors:
        return (
            "It includes the Python objects the call returns (its `str`s, its list), created anew in a "
            "timing worker with no call around them and shown in their own column."
        )
    return (
        "This run did not measure the Python objects of the result, so the floor leaves them out and errs "
        "low (the Rust call floor covers them in part)."
    )


def _reachable_sentence(reachable: ReachableMean | None) -> list[str]:
    if reachable is None:
        return []
    return [
        "",
        f"Of the claimed {reachable.claimed_speedup:g}x average, a port at every floor would reach "
        f"{reachable.speedup.value:.3g}x ({reachable.reachable_fraction * 100:.0f}%): "
        f"{reachable.speedup.method}.",
    ]
