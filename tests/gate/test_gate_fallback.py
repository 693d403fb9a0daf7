"""The gate compares the fallback side like the other two, and its floor rule covers the path callers use."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.functions.pairs.workload_types import Mode
from harness.gate.build import Build
from harness.gate.compare import GatePolicy, PairedRounds
from harness.gate.config import GateConfig
from harness.gate.gate import judge_measurements, targets_for
from harness.gate.looks import Look
from harness.gate.measure import Measurements, Target, measure_interleaved
from harness.measure.engine import MeasurePlan
from harness.results import GateOutcome, Impl

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 15


def test_every_built_in_target_has_its_fallback_side() -> None:
    targets = targets_for(Mode.QUICK, ("format_float", "hash_file"))
    assert targets and all(target.fallback for target in targets)
    assert all(target.impls == (Impl.RUST, Impl.PYTHON, Impl.FALLBACK) for target in targets)
    assert Target("count_vowels", "w").impls == (Impl.RUST, Impl.PYTHON)


def _no_remeasure(suspects: Sequence[PairedRounds], look: Look) -> Sequence[PairedRounds | str]:
    return [f"not remeasured: {suspect.function}" for suspect in suspects]


def _floor_comparisons(fallback_over_python: float) -> dict[tuple[Impl, str], GateOutcome]:
    """The floor verdicts of a candidate whose Rust is 3x faster than Python and whose fallback takes
    ``fallback_over_python`` times Python's time."""
    rng = np.random.default_rng(3)
    python = list(1000 * np.exp(rng.normal(0, 0.02, ROUNDS)))
    sides = {
        Impl.PYTHON: python,
        Impl.RUST: [value / 3 for value in python],
        Impl.FALLBACK: [value * fallback_over_python for value in python],
    }
    measurements = Measurements()
    for impl, values in sides.items():
        key = ("format_float", impl, "w")
        measurements.base_ns[key] = list(values)
        measurements.candidate_ns[key] = list(values)
    config = GateConfig(policy=GatePolicy(bootstrap_resamples=200), default_floor=1.0)
    comparisons = judge_measurements(measurements, config, {}, remeasure=_no_remeasure)
    return {
        (comparison.impl, comparison.metric): comparison.outcome
        for comparison in comparisons
        if comparison.metric.endswith("_vs_python")
    }


def test_a_fallback_slower_than_python_fails_the_floor_rule() -> None:
    outcomes = _floor_comparisons(fallback_over_python=1.3)
    assert outcomes == {
        (Impl.RUST, "rust_vs_python"): GateOutcome.PASS,
        (Impl.FALLBACK, "fallback_vs_python"): GateOutcome.REGRESSION,
    }


def test_a_fallback_faster_than_python_passes_the_floor_rule() -> None:
    outcomes = _floor_comparisons(fallback_over_python=0.5)
    assert outcomes[(Impl.FALLBACK, "fallback_vs_python")] is GateOutcome.PASS


def test_the_fallback_side_is_measured_on_both_builds(tmp_path: Path) -> None:
    build = Build(label="candidate", commit="working tree", tree=REPO, python=Path(sys.executable))
    plan = MeasurePlan(
        min_rounds=3, max_rounds=3, fresh_processes_every=1, warmups=0, min_time_s=0.001, memory_calls=0
    )
    [target] = [t for t in targets_for(Mode.QUICK, ("format_float",)) if t.workload == "mixed-p1"]
    measurements = measure_interleaved(build, build, [target], plan, scratch=tmp_path)
    key = ("format_float", Impl.FALLBACK, "mixed-p1")
    assert not measurements.errors
    assert len(measurements.base_ns[key]) == len(measurements.candidate_ns[key]) == 3
