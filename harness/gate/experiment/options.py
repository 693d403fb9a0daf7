"""What an experiment runs (``ExperimentOptions``) and what it finds (``ResultRow``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.functions.pairs.workload_types import DEFAULT_SCRATCH, Mode
from harness.gate.config import GateConfig, load_config
from harness.gate.looks import ONE_LOOK, Stage2Looks
from harness.gate.measure import Target
from harness.measure.engine import MeasurePlan, Purpose, plan_for
from harness.results import GateComparison, GateOutcome, Impl

EXPERIMENTS_DIR = Path("reports/experiments")
# About 1 us and about 100 us per call of the Python reference on this kind of machine (quick workloads).
DEFAULT_TARGETS: tuple[tuple[str, str], ...] = (("format_float", "mixed-p0"), ("get_cpu_count", "host"))
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExperimentOptions:
    repo: Path
    targets: tuple[Target, ...] = tuple(Target(f, w) for f, w in DEFAULT_TARGETS)
    fractions: tuple[float, ...] = (0.05, 0.10, 0.25)
    runs: int = 20  # injected runs per target and fraction
    aa_runs: int = 20
    mode: Mode = Mode.DEFAULT  # the gate's default; --quick is the CI gate's plan
    only: tuple[str, ...] = ()  # functions of the suite; empty = all 12 (the targets' functions are added)
    # memory is not part of the experiment
    plan: MeasurePlan = field(default_factory=lambda: plan_for(Purpose.GATE, Mode.DEFAULT))
    config: GateConfig = field(default_factory=load_config)
    calibration: Path | None = None  # None: this machine's file under reports/calibration/, if any
    use_calibration: bool = True
    scratch: Path = DEFAULT_SCRATCH
    gate_dir: Path | None = None
    out_dir: Path | None = None
    side: Impl = Impl.PYTHON  # which side of the target gets the busy loop
    instructions: bool = False
    instruction_change: float = 0.02
    stage2: Stage2Looks = ONE_LOOK  # --stage2-looks, --stage2-budget: the sequential stage 2

    def __post_init__(self) -> None:
        functions = [target.function for target in self.targets]
        if len(set(functions)) != len(functions):
            # All targets are slowed in one build, one loop per function: two workloads of one function
            # would share (and double) it.
            raise ValueError(f"one target per function, got {', '.join(functions)}")


@dataclass(frozen=True)
class ResultRow:
    kind: str  # "A/A", "injected", "instructions A/A", "instructions injected"
    function: str
    workload: str
    injected: float  # the slowdown aimed at, as a fraction; 0 for A/A
    runs: int
    detections: int
    false_alarm_runs: int
    median_measured_change: float | None  # of the target comparison, over the runs
    iterations: int = 0  # loop iterations inserted
    cannot_judge_runs: int = 0  # runs without a regression that still exit 3 (suspects left open)
    sized_change: float | None = None  # measured while sizing the delay (SIZING_PLAN, before the runs)


def timing_regressions(comparisons: Sequence[GateComparison]) -> list[GateComparison]:
    return [c for c in comparisons if c.metric == "time" and c.outcome is GateOutcome.REGRESSION]
