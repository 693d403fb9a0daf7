"""run_bench's floor step: the timed pairs' floors are measured; each pair gets its best possible speedup."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

import harness.measure.bench
from harness.functions.pairs.workload_types import Workload
from harness.measure.bench import run_bench
from harness.measure.criterion import CriterionError
from harness.results import NativeEstimate, Verdict

from .conftest import tiny_options

# A floor of 1 ms: far above what get_parallel_threads costs in Python, so its 10x claim cannot be reached.
SLOW_FLOOR = NativeEstimate(median_ns=1e6, ci_low_ns=0.9e6, ci_high_ns=1.1e6)


def test_bench_measures_the_floors_of_the_timed_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def fake_run_floors(
        workloads: Iterable[Workload], scratch: Path, seed: int, quick: bool
    ) -> dict[str, NativeEstimate]:
        asked.extend(f"{workload.function}/{workload.id}" for workload in workloads)
        return {"get_parallel_threads/default": SLOW_FLOOR}

    monkeypatch.setattr(harness.measure.bench, "run_floors", fake_run_floors)
    run = run_bench(replace(tiny_options(tmp_path, only=("get_parallel_threads",)), floors=True))
    assert sorted(asked) == ["get_parallel_threads/default", "get_parallel_threads/kubernetes"]
    assert run.floors == {"get_parallel_threads/default": SLOW_FLOOR}
    pairs = {pair.workload: pair for pair in run.pairs}
    best = pairs["default"].best_possible_speedup
    assert best is not None and best.ci_high < 1
    assert pairs["default"].verdict is Verdict.IMPOSSIBLE
    assert pairs["kubernetes"].best_possible_speedup is None
    assert pairs["kubernetes"].verdict is not Verdict.IMPOSSIBLE


def test_a_failed_floor_step_keeps_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_run_floors(*_args: object, **_kwargs: object) -> dict[str, NativeEstimate]:
        raise CriterionError("cargo is not on PATH")

    monkeypatch.setattr(harness.measure.bench, "run_floors", failing_run_floors)
    run = run_bench(replace(tiny_options(tmp_path, only=("get_parallel_threads",)), floors=True))
    assert run.floors == {}
    assert run.pairs and all(pair.best_possible_speedup is None for pair in run.pairs)
