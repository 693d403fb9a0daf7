"""Instruction counts beside time for the Rust side's suspects (``--suspect-instructions``).

Time on a shared machine moves with the neighbours; callgrind's instruction counts do not (two runs of one
build agree to the instruction, docs/gate.md). So after the two timing stages, every Rust time comparison
the screen made a suspect is also counted under callgrind on both builds, and each suspect says what saw the
change: ``time and counts``, ``time only``, ``counts only`` or ``neither``.

What fails CI (docs/gate.md, "Instruction counts beside time"): a time regression confirmed by stage 2 fails
as before, whatever the counts say (time is what users feel, and counts miss system calls, cache misses and
waits). A count above ``instructions_threshold`` that time did not confirm ("counts only") is a warning, not
a failure: the counted region includes the interpreter's call loop, and two builds of the same Rust source
differ by about 1% (+1.1% on truncate_long_string commands-25 in the CI gate of 2026-12-02, Rust unchanged),
so a count alone at this threshold cannot tell added work from a different build.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from harness.functions.pairs.workload_types import Mode
from harness.gate.build import Build
from harness.gate.instructions import (
    InstructionCount,
    InstructionCountError,
    InstructionJob,
    count_instructions,
    judge_instructions,
)
from harness.gate.outcome import comparison_key
from harness.gate.two_stage import SCREEN_DECIDED
from harness.results import GateComparison, GateOutcome, Impl

Progress = Callable[[str], None]
Counter = Callable[[Build, Sequence[InstructionJob]], list[InstructionCount]]


class SuspectInstructions(StrEnum):
    """``--suspect-instructions``: count the Rust suspects' instructions too."""

    AUTO = "auto"  # in quick mode (the CI gate) when valgrind is found; otherwise say it did not count
    ON = "on"  # always; no valgrind is a tool error (exit 2)
    OFF = "off"


class Evidence(StrEnum):
    """What saw a Rust suspect's change."""

    BOTH = "time and counts"
    TIME_ONLY = "time only"
    COUNTS_ONLY = "counts only"
    NEITHER = "neither"


@dataclass(frozen=True)
class SuspectCounts:
    """The stage's result: instruction comparisons, each suspect's evidence, and the note that says so."""

    comparisons: tuple[GateComparison, ...] = ()
    evidence: Mapping[str, str] | None = None  # time comparison key -> Evidence value
    note: str = ""


def rust_time_suspects(comparisons: Sequence[GateComparison]) -> list[GateComparison]:
    """The Rust time comparisons the screen sent to stage 2 (whatever stage 2 then decided)."""
    return [
        c
        for c in comparisons
        if c.metric == "time"
        and c.impl is Impl.RUST
        and c.presence == "both"
        and c.outcome is not GateOutcome.IMPROVEMENT
        and not c.detail.startswith(SCREEN_DECIDED)
    ]


def should_count(setting: SuspectInstructions, mode: Mode) -> tuple[bool, str]:
    """(count?, why not). ``on`` without valgrind raises InstructionCountError (exit 2)."""
    if setting is SuspectInstructions.OFF:
        return False, "suspect instructions not counted (--suspect-instructions off)"
    found = shutil.which("valgrind") is not None
    if setting is SuspectInstructions.ON and not found:
        raise InstructionCountError(
            "valgrind is not installed (apt-get install valgrind); --suspect-instructions on needs it"
        )
    if not found:
        return False, "suspect instructions NOT counted: valgrind not found (apt-get install valgrind)"
    if setting is SuspectInstructions.AUTO and mode is not Mode.QUICK:
        return (
            False,
            "suspect instructions not counted (auto counts in quick mode only; --suspect-instructions on)",
        )
    return True, ""


def callgrind_counter(scratch: Path, calls: int) -> Counter:
    def count(build: Build, jobs: Sequence[InstructionJob]) -> list[InstructionCount]:
        return count_instructions(build.python, jobs, cwd=build.tree, scratch=scratch, calls=calls)

    return count


def count_suspects(
    comparisons: Sequence[GateComparison],
    builds: tuple[Build, Build],
    *,
    threshold: float,
    counter: Counter,
    progress: Progress = lambda message: None,
) -> SuspectCounts:
    """Counts every Rust time suspect on (base, candidate) and labels what saw each change."""
    suspects = rust_time_suspects(comparisons)
    if not suspects:
        return SuspectCounts(evidence={}, note="suspect instructions: no Rust time suspect to count")
    jobs = [InstructionJob(s.function, Impl.RUST, s.workload) for s in suspects]
    base, candidate = builds
    progress(f"counting instructions of {len(jobs)} Rust suspect(s) on both builds under callgrind")
    counted = judge_instructions(counter(base, jobs), counter(candidate, jobs), relative_threshold=threshold)
    by_workload = {(c.function, c.workload): c for c in counted}
    evidence: dict[str, str] = {}
    labelled: list[GateComparison] = []
    for suspect in suspects:
        count = by_workload[suspect.function, suspect.workload]
        label = evidence_of(suspect, count)
        evidence[comparison_key(suspect)] = label.value
        if label is Evidence.COUNTS_ONLY:  # a warning (module docstring): shown, never failing on its own
            count = replace(count, outcome=GateOutcome.PASS, detail=f"{count.detail} warning:".strip())
        labelled.append(replace(count, detail=f"{count.detail} [{label.value}]".strip()))
    tally = {label: sum(value == label.value for value in evidence.values()) for label in Evidence}
    note = (
        f"suspect instructions: {len(suspects)} Rust suspect(s) counted under callgrind on both builds, "
        f"above +{threshold:.1%} (a warning unless time confirms it): "
        + ", ".join(f"{number} {label.value}" for label, number in tally.items() if number)
    )
    return SuspectCounts(tuple(labelled), evidence, note)


def evidence_of(time: GateComparison, instructions: GateComparison) -> Evidence:
    """What saw the change: a confirmed time regression, an instruction count above the threshold."""
    by_time = time.outcome is GateOutcome.REGRESSION
    by_counts = instructions.outcome is GateOutcome.REGRESSION
    if by_time and by_counts:
        return Evidence.BOTH
    if by_time:
        return Evidence.TIME_ONLY
    return Evidence.COUNTS_ONLY if by_counts else Evidence.NEITHER
