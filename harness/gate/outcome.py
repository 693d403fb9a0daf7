"""What one gate run concluded, and the exit code it maps to.

Exit 3 ("cannot judge") is only ever a fact about the change, named by one ``CannotJudgeCode``; a fault of
the tool itself is exit 2 and never reaches a ``GateReport`` (``GateToolError``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from harness.gate.looks import Stage2Record
from harness.results import GateComparison, GateOutcome, Impl

if TYPE_CHECKING:
    from harness.gate.floor_drift import FloorDriftCheck


class ExitCode(IntEnum):
    """The gate's exit codes (docs/gate.md). CI treats 3 as a warning, 1 as a failure."""

    NO_REGRESSION = 0
    REGRESSION = 1
    USAGE_OR_TOOL_ERROR = 2
    CANNOT_JUDGE = 3


class CannotJudgeCode(StrEnum):
    """The closed set of reasons for exit 3, written to ``gate-comparisons.json`` (docs/gate.md)."""

    NO_PARENT = "no-parent"  # HEAD is the first commit: nothing to compare with
    BASE_PREDATES_WORKER = "base-predates-worker"  # the base has no harness/worker.py
    BASE_DOES_NOT_BUILD = "base-does-not-build"  # the base's sky_rs or harness fails to build or import
    OTHER_MACHINE_BASELINE = "other-machine-baseline"  # --baseline measured on another machine
    UNCONFIRMED_SUSPECTS = "unconfirmed-suspects"  # stage 2 could neither confirm nor clear a suspect
    NOTHING_JUDGED = "nothing-judged"  # every comparison cannot be judged (the base lacks every workload)

    @property
    def side(self) -> str:
        """Whose fact it is. Every code is about the change; CI warns only on this side."""
        return "change"


@dataclass(frozen=True)
class CannotJudge:
    """Why a whole run could not be judged: a machine-readable code and a sentence for people."""

    code: CannotJudgeCode
    detail: str

    def to_json_dict(self) -> dict[str, str]:
        return {"reason": str(self.code), "side": self.code.side, "detail": self.detail}


class GateUsageError(ValueError):
    """Bad options, an unknown revision or a bad input file: exit 2."""


class GateToolError(RuntimeError):
    """A fault of the gate itself (git failing or timing out, a worktree or venv it cannot prepare, a
    stale build it may not rebuild, a held lock): exit 2 with one line, never "cannot judge"."""


@dataclass(frozen=True)
class GateReport:
    """Everything the outputs (table, Markdown, JUnit, JSON) show."""

    mode: str  # "against", "baseline", "ratios-only", "instructions"
    base: str  # what was compared against: a commit, a baseline file
    candidate: str
    comparisons: tuple[GateComparison, ...] = ()
    cannot_judge: CannotJudge | None = None  # set when the whole run could not be judged
    notes: tuple[str, ...] = ()  # facts the reader needs: calibration used, skipped keys, fingerprint
    noise_floors: Mapping[str, float] = field(default_factory=dict)  # comparison key -> calibrated floor
    duration_seconds: float = 0.0
    environment: Mapping[str, str] = field(default_factory=dict)  # where the head was measured
    base_environment: Mapping[str, str] = field(default_factory=dict)  # where the base was, if known
    profiles: Mapping[str, str] = field(default_factory=dict)  # comparison key -> differential profile file
    # Rust time suspect's comparison key -> what saw its change ("time and counts", "time only", "counts
    # only", "neither"): --suspect-instructions, harness/gate/suspect_instructions.py
    evidence: Mapping[str, str] = field(default_factory=dict)
    # Stage 2's looks (max_looks, budget_s, looks_started, budget_spent, order_seeds, and per suspect key its
    # looks, rounds per look and how it ended): harness/gate/looks.py. None: no suspect, or not a timing gate.
    stage2: Stage2Record | None = None
    # Rust time / physical floor of each Rust comparison, base against head: a warning, never a verdict
    # (harness/gate/floor_drift.py). None: not checked in this mode, or switched off (--no-floor-drift).
    floor_drift: FloorDriftCheck | None = None

    @property
    def regressions(self) -> tuple[GateComparison, ...]:
        return tuple(c for c in self.comparisons if c.outcome is GateOutcome.REGRESSION)

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_for(self.comparisons, self.cannot_judge)

    @property
    def why_cannot_judge(self) -> CannotJudge | None:
        """The reason behind exit 3 (None for any other exit code), including "nothing judged"."""
        if self.exit_code is not ExitCode.CANNOT_JUDGE:
            return None
        if self.cannot_judge is not None:
            return self.cannot_judge
        return CannotJudge(
            CannotJudgeCode.NOTHING_JUDGED,
            "no comparison could be judged" if self.comparisons else "nothing was compared",
        )

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = int(self.exit_code)
        data["noise_floors"] = dict(self.noise_floors)
        data["environment"] = dict(self.environment)
        data["base_environment"] = dict(self.base_environment)
        data["profiles"] = dict(self.profiles)
        data["evidence"] = dict(self.evidence)
        data["floor_drift"] = None if self.floor_drift is None else self.floor_drift.to_json_dict()
        reason = self.why_cannot_judge
        data["cannot_judge"] = None if reason is None else reason.to_json_dict()
        return data


def exit_code_for(comparisons: Sequence[GateComparison], cannot_judge: CannotJudge | None = None) -> ExitCode:
    """1 if anything regressed; else 3 if the run, or every comparison, could not be judged; else 0.

    A regression wins over "cannot judge": a slowdown that was measured is real even if another comparison
    could not be made. Single comparisons that cannot be judged (a workload the base does not have) are
    listed in the report but do not turn a judged run into exit 3.
    """
    if any(c.outcome is GateOutcome.REGRESSION for c in comparisons):
        return ExitCode.REGRESSION
    if cannot_judge is not None:
        return ExitCode.CANNOT_JUDGE
    if not comparisons or all(c.outcome is GateOutcome.CANNOT_JUDGE for c in comparisons):
        return ExitCode.CANNOT_JUDGE
    return ExitCode.NO_REGRESSION


def comparison_key(comparison: GateComparison) -> str:
    return f"{comparison.function}/{comparison.impl}/{comparison.workload}/{comparison.metric}"


def cannot_judge_comparison(
    function: str, impl: Impl, workload: str, metric: str, reason: str
) -> GateComparison:
    """A comparison that could not be made (a failed measurement, a row the base lacks), with why."""
    return GateComparison(
        function=function,
        impl=impl,
        workload=workload,
        metric=metric,
        change_ratio=1.0,
        ci_low=1.0,
        ci_high=1.0,
        p_value_adjusted=None,
        outcome=GateOutcome.CANNOT_JUDGE,
        detail=reason,
    )
