"""Shared fixtures of the bench-core tests: tiny timing plans, stand-in modules, scratch folders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.functions.pairs.workload_types import Mode
from harness.measure.bench import BenchOptions
from harness.measure.engine import MeasurePlan
from harness.results import Impl

STAND_INS = Path(__file__).parent / "stand_ins"
REPO_ROOT = Path(__file__).resolve().parents[2]

# As little measuring as the code paths allow: tests check behaviour, never timings.
TINY_PLAN = MeasurePlan(
    processes=1, min_rounds=2, max_rounds=2, warmups=0, min_time_s=0.0005, pair_budget_s=0.01
)


@pytest.fixture
def stand_ins_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the stand-in modules importable here and in worker processes."""
    monkeypatch.setenv("PYTHONPATH", str(STAND_INS))
    monkeypatch.syspath_prepend(str(STAND_INS))


def tiny_options(
    tmp_path: Path, *, only: tuple[str, ...], rust_module: str = "harness.functions.reference"
) -> BenchOptions:
    """A quick bench of the given functions with both sides in Python unless told otherwise."""
    return BenchOptions(
        mode=Mode.QUICK,
        only=only,
        scratch=tmp_path / "scratch",
        plan=TINY_PLAN,
        python=Path(sys.executable),
        modules={Impl.RUST: rust_module, Impl.PYTHON: "harness.functions.reference"},
        memory=False,
        criterion=False,
        floors=False,
        import_time_repeats=1,
        progress=False,
    )
