"""Floor drift: a warning when a Rust function moves away from its physical floor (docs/gate.md).

The physical floor of a workload (``harness.measure.floors``, docs/floors.md) is the least work its semantics
require, done in Rust with no Python; it does not call ``sky_rs``, so the base and the candidate share one
floor, measured once per gate run. A Rust time comparison *drifts* when the candidate's Rust time / floor
exceeds the base's by more than the comparison's minimum effect (the threshold of the timing verdicts) and
the comparison's own paired interval of the change lies wholly above no change: the Rust side moved away from
a floor that did not move. The interval matters: the two medians alone moved +5.6% between two builds of the
same Rust code in a CI gate here (the paired change was +3.0% [-4.0%, +10.8%]), a warning about nothing.
A drift is a warning only: it never changes a verdict or the exit code. A floor bench that cannot run is
said (``not_checked``), never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.functions.pairs.workload_types import Mode, Workload
from harness.functions.registry import build_registry
from harness.gate.compare import GatePolicy, effect_threshold
from harness.gate.outcome import comparison_key
from harness.inputs import one_line
from harness.measure.criterion import CriterionError
from harness.measure.floors import run_floors
from harness.results import GateComparison, GateOutcome, Impl, NativeEstimate
from harness.sinks.formatting import format_ns

FloorRunner = Callable[[Sequence[Workload]], Mapping[str, NativeEstimate]]
SECTION_TITLE = "Floor drift (warning)"


@dataclass(frozen=True)
class FloorDrift:
    """One Rust time comparison against its workload's physical floor, on both builds."""

    function: str
    workload: str
    base_rust_ns: float
    candidate_rust_ns: float
    base_floor_ns: float
    candidate_floor_ns: float  # the gate measures one floor for both builds
    threshold: float  # the comparison's minimum effect (0.05 = 5%)
    change_ci_low: float  # the lower end of the comparison's paired interval of candidate / base

    @property
    def base_ratio(self) -> float:
        return self.base_rust_ns / self.base_floor_ns

    @property
    def candidate_ratio(self) -> float:
        return self.candidate_rust_ns / self.candidate_floor_ns

    @property
    def drifted(self) -> bool:
        """The candidate's Rust / floor grew beyond the base's by more than the minimum effect, and the
        paired interval of the change says it grew at all."""
        return self.candidate_ratio > self.base_ratio * (1 + self.threshold) and self.change_ci_low > 1.0

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "workload": self.workload,
            "base_rust_ns": self.base_rust_ns,
            "candidate_rust_ns": self.candidate_rust_ns,
            "base_floor_ns": self.base_floor_ns,
            "candidate_floor_ns": self.candidate_floor_ns,
            "base_ratio": self.base_ratio,
            "candidate_ratio": self.candidate_ratio,
            "threshold": self.threshold,
            "change_ci_low": self.change_ci_low,
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class FloorDriftCheck:
    """What the check found: every pair checked, the pairs without a floor, or why nothing was checked."""

    pairs: tuple[FloorDrift, ...] = ()
    without_floor: tuple[str, ...] = ()  # "function/workload" the floor bench gave no floor for
    not_checked: str | None = None  # the reason, when the floors could not be measured at all

    @property
    def drifts(self) -> tuple[FloorDrift, ...]:
        return tuple(pair for pair in self.pairs if pair.drifted)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "checked": self.not_checked is None,
            "not_checked": self.not_checked,
            "drifts": [pair.to_json_dict() for pair in self.drifts],
            "pairs": [pair.to_json_dict() for pair in self.pairs],
            "without_floor": list(self.without_floor),
        }


def rust_times(comparisons: Sequence[GateComparison]) -> list[GateComparison]:
    """The Rust time comparisons with a median on both builds: the ones a floor can be put against."""
    return [
        c
        for c in comparisons
        if c.impl is Impl.RUST
        and c.metric == "time"
        and c.presence == "both"
        and c.outcome is not GateOutcome.CANNOT_JUDGE
        and c.base_median is not None
        and c.candidate_median is not None
    ]


def judge_floor_drift(
    comparisons: Sequence[GateComparison],
    floors: Mapping[str, NativeEstimate],
    *,
    policy: GatePolicy,
    noise_floors: Mapping[str, float],
) -> FloorDriftCheck:
    """Each Rust time comparison against the one floor of its workload, with its timing threshold."""
    pairs: list[FloorDrift] = []
    without: list[str] = []
    for comparison in rust_times(comparisons):
        key = f"{comparison.function}/{comparison.workload}"
        floor = floors.get(key)
        if floor is None or comparison.base_median is None or comparison.candidate_median is None:
            without.append(key)
            continue
        pairs.append(
            FloorDrift(
                function=comparison.function,
                workload=comparison.workload,
                base_rust_ns=comparison.base_median,
                candidate_rust_ns=comparison.candidate_median,
                base_floor_ns=floor.median_ns,
                candidate_floor_ns=floor.median_ns,
                threshold=effect_threshold(policy, noise_floors.get(comparison_key(comparison))),
                change_ci_low=comparison.ci_low,
            )
        )
    return FloorDriftCheck(pairs=tuple(pairs), without_floor=tuple(without))


def floor_runner(mode: Mode, scratch: Path, native_dir: Path, seed: int = 0) -> FloorRunner:
    """The floor bench on the gate's workloads, with Criterion's quick settings unless ``mode`` is full.

    ``seed`` is the one the gate's workers prepare their workloads with (``WorkerCommand``'s default)."""

    def run(workloads: Sequence[Workload]) -> Mapping[str, NativeEstimate]:
        return run_floors(workloads, scratch, seed, quick=mode is not Mode.FULL, native_dir=native_dir)

    return run


def check_floor_drift(
    comparisons: Sequence[GateComparison],
    *,
    mode: Mode,
    policy: GatePolicy,
    noise_floors: Mapping[str, float],
    run: FloorRunner,
) -> FloorDriftCheck:
    """Measures the floors of the compared Rust workloads once and judges each; never raises for the bench."""
    wanted = {(c.function, c.workload) for c in rust_times(comparisons)}
    if not wanted:
        return FloorDriftCheck(not_checked="no Rust time comparison to put against a floor")
    registry = build_registry()
    workloads = [
        workload
        for function in sorted({function for function, _ in wanted})
        for workload in registry[function].workloads_for(mode)
        if (function, workload.id) in wanted
    ]
    try:
        floors = run(workloads)
    except (CriterionError, OSError, ValueError) as error:
        return FloorDriftCheck(not_checked=one_line(str(error)) or type(error).__name__)
    return judge_floor_drift(comparisons, floors, policy=policy, noise_floors=noise_floors)


def warning_lines(check: FloorDriftCheck) -> list[str]:
    """One line per drift, or the reason nothing was checked: what the gate prints on stderr."""
    if check.not_checked is not None:
        return [f"floor drift not checked: {check.not_checked}"]
    return [
        f"warning: floor drift: {d.function} (Rust) {d.workload}: Rust / floor {d.base_ratio:.2f}x -> "
        f"{d.candidate_ratio:.2f}x (beyond +{d.threshold:.0%}); does not fail the gate"
        for d in check.drifts
    ]


def summary_lines(check: FloorDriftCheck | None) -> list[str]:
    """The summary's short section; nothing when the check did not run (switched off, another mode)."""
    if check is None:
        return []
    lines = ["", f"## {SECTION_TITLE}", ""]
    if check.not_checked is not None:
        return [*lines, f"Floor drift not checked: {check.not_checked}. This does not fail the gate."]
    missing = f"; no floor for {', '.join(check.without_floor)}" if check.without_floor else ""
    if not check.drifts:
        return [
            *lines,
            f"No Rust function drifted from its physical floor ({len(check.pairs)} checked{missing}).",
        ]
    lines += [
        f"Rust time / physical floor grew beyond the minimum effect ({len(check.drifts)} of "
        f"{len(check.pairs)} checked{missing}). A warning: it does not fail the gate.",
        "",
        "| comparison | floor | base Rust / floor | head Rust / floor | threshold |",
        "|---|---|---|---|---|",
    ]
    return lines + [
        f"| {d.function} (Rust) {d.workload} | {format_ns(d.base_floor_ns)} | {d.base_ratio:.2f}x | "
        f"{d.candidate_ratio:.2f}x | +{d.threshold:.0%} |"
        for d in check.drifts
    ]
