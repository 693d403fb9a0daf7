"""The interleaved measurement: pairing of rounds, errors per key, and the memory comparison's values."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.gate.build import Build
from harness.gate.measure import Target, conservative_pair, measure_interleaved, time_one_side
from harness.measure.engine import MeasurePlan
from harness.measure.worker_client import WorkerError
from harness.results import Impl

REPO = Path(__file__).resolve().parents[2]


def test_conservative_pair_claims_only_changes_beyond_the_spread_of_each_build() -> None:
    assert conservative_pair([100.0, 110.0], [200.0, 190.0]) == (110.0, 190.0)  # growth: closest values
    assert conservative_pair([200.0, 190.0], [100.0, 110.0]) == (190.0, 110.0)  # shrink: closest values
    base, candidate = conservative_pair([100.0, 300.0], [150.0, 160.0])  # overlap: no change
    assert base == candidate
    assert conservative_pair([5.0, 5.0], [5.0, 5.0]) == (5.0, 5.0)


@pytest.mark.slow
def test_same_build_twice_gives_paired_rounds_and_reports_unknown_workloads(tmp_path: Path) -> None:
    build = Build(label="candidate", commit="working tree", tree=REPO, python=Path(sys.executable))
    plan = MeasurePlan(
        min_rounds=3,
        max_rounds=3,
        fresh_processes_every=1,
        values_per_round=1,
        warmups=0,
        min_time_s=0.001,
        memory_calls=2,
        memory_passes=2,
    )
    measurements = measure_interleaved(
        build,
        build,
        [Target("format_float", "mixed-p1"), Target("format_float", "no-such-workload")],
        plan,
        scratch=tmp_path,
    )
    key = ("format_float", Impl.PYTHON, "mixed-p1")
    assert len(measurements.base_ns[key]) == len(measurements.candidate_ns[key]) == 3
    assert all(value > 0 for value in measurements.base_ns[key])
    assert measurements.base_alloc_bytes[key] == measurements.candidate_alloc_bytes[key]
    bad = ("format_float", Impl.PYTHON, "no-such-workload")
    assert bad in measurements.errors and "no-such-workload" in measurements.errors[bad]
    assert bad not in measurements.base_ns


@pytest.mark.slow
def test_one_side_is_timed_by_the_engine_and_a_failure_is_raised(tmp_path: Path) -> None:
    build = Build(label="candidate", commit="working tree", tree=REPO, python=Path(sys.executable))
    plan = MeasurePlan(min_rounds=2, max_rounds=2, warmups=0, min_time_s=0.001)
    assert time_one_side(build, ("format_float", Impl.PYTHON, "mixed-p1"), plan, scratch=tmp_path) > 0
    with pytest.raises(WorkerError, match="no-such-workload"):
        time_one_side(build, ("format_float", Impl.PYTHON, "no-such-workload"), plan, scratch=tmp_path)
