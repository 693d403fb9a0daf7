"""What one gate run concluded, and the exit code it maps to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any

from harness.results import GateComparison, GateOutcome


class ExitCode(IntEnum):
    """The gate's exit codes (docs/gate.md). CI treats 3 as a warning, 1 as a failure."""

    NO_REGRESSION = 0
    REGRESSION = 1
    USAGE_OR_TOOL_ERROR = 2
    CANNOT_JUDGE = 3


@dataclass(frozen=True)
class GateReport:
    """Everything the outputs (table, Markdown, JUnit, JSON) show."""

    mode: str  # "against", "baseline", "ratios-only", "instructions"
    base: str  # what was compared against: a commit, a baseline file
    candidate: str
    comparisons: tuple[GateComparison, ...] = ()
    cannot_judge_reason: str = ""  # set when the whole run could not be judged
    notes: tuple[str, ...] = ()  # facts the reader needs: calibration used, skipped keys, fingerprint
    noise_floors: Mapping[str, float] = field(default_factory=dict)  # comparison key -> calibrated floor
    duration_seconds: float = 0.0

    @property
    def regressions(self) -> tuple[GateComparison, ...]:
        return tuple(c for c in self.comparisons if c.outcome is GateOutcome.REGRESSION)

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_for(self.comparisons, self.cannot_judge_reason)

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = int(self.exit_code)
        data["noise_floors"] = dict(self.noise_floors)
        return data


def exit_code_for(comparisons: Sequence[GateComparison], cannot_judge_reason: str = "") -> ExitCode:
    """1 if anything regressed; else 3 if the run, or every comparison, could not be judged; else 0.

    A regression wins over "cannot judge": a slowdown that was measured is real even if another comparison
    could not be made. Single comparisons that cannot be judged (a workload the base does not have) are
    listed in the report but do not turn a judged run into exit 3.
    """
    if any(c.outcome is GateOutcome.REGRESSION for c in comparisons):
        return ExitCode.REGRESSION
    if cannot_judge_reason:
        return ExitCode.CANNOT_JUDGE
    if not comparisons or all(c.outcome is GateOutcome.CANNOT_JUDGE for c in comparisons):
        return ExitCode.CANNOT_JUDGE
    return ExitCode.NO_REGRESSION


def comparison_key(comparison: GateComparison) -> str:
    return f"{comparison.function}/{comparison.impl}/{comparison.workload}/{comparison.metric}"
