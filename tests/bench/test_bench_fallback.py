"""The bench times the fallback as a third side, in the same rounds as Rust and Python."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import harness.measure.bench
import harness.measure.engine
from harness.functions.registry import DEFAULT_MODULES
from harness.measure.bench import (
    FALLBACK_SIDE,
    PRODUCTION_SPEEDUP_RATIO,
    PYTHON_SIDE,
    RUST_SIDE,
    SPEEDUP_RATIO,
    run_bench,
)
from harness.measure.engine import Matchup
from harness.results import Impl
from harness.stats import paired_difference_ns, paired_speedup

from .conftest import TINY_PLAN, tiny_options


def test_a_routed_pair_has_three_sides_paired_by_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sky_rs")
    seen: list[Matchup] = []
    real = harness.measure.engine.measure_rounds

    def recording(pool, matchups, plan, seed=0):  # type: ignore[no-untyped-def]
        seen.extend(matchups)
        return real(pool, matchups, plan, seed=seed)

    monkeypatch.setattr(harness.measure.bench, "measure_rounds", recording)
    options = replace(tiny_options(tmp_path, only=("format_float",)), modules=dict(DEFAULT_MODULES))
    run = run_bench(options)
    assert run.pairs, run.not_comparable
    pair_matchups = [matchup for matchup in seen if matchup.function == "format_float"]
    assert all(matchup.sides == (RUST_SIDE, PYTHON_SIDE, FALLBACK_SIDE) for matchup in pair_matchups)
    assert all(matchup.stop_on == (SPEEDUP_RATIO, PRODUCTION_SPEEDUP_RATIO) for matchup in pair_matchups)
    # the call floor has no fallback: two sides only
    assert all(len(matchup.sides) == 2 for matchup in seen if matchup.function == "_noop")
    for pair in run.pairs:
        assert pair.fallback is not None and pair.fallback.impl is Impl.FALLBACK
        assert len(pair.fallback.values_ns) == len(pair.rust.values_ns) == TINY_PLAN.max_rounds
        resamples = TINY_PLAN.bootstrap_resamples
        expected = paired_speedup(pair.python.values_ns, pair.fallback.values_ns, options.seed, resamples)
        assert pair.production_speedup == expected
        overhead = paired_difference_ns(pair.fallback.values_ns, pair.rust.values_ns, options.seed, resamples)
        assert pair.dispatch_overhead == overhead


def test_no_fallback_side_when_told_not_to(tmp_path: Path) -> None:
    options = replace(tiny_options(tmp_path, only=("format_float",)), fallback=False)
    run = run_bench(options)
    assert run.pairs
    assert all(pair.fallback is None and pair.production_speedup is None for pair in run.pairs)
