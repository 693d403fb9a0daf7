"""Speedup intervals as they are: both ends, the adaptive stop on the farther one, and rounds' shape."""

from __future__ import annotations

import csv
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import harness.measure.engine.rounds
from harness.measure.engine import Matchup, MeasurePlan, Side, WorkerPool, measure_rounds
from harness.results import Impl, Speedup
from harness.sinks.report import render_report
from harness.sinks.run_folder import write_run_folder
from harness.stats import TARGET_RELATIVE_REACH, round_shape
from tests.engine.fake_workers import FakeSource

from .synthetic import synthetic_run

# Shaped like read_last_n_lines 1KB-n10 in a default run on main (3.06x [2.79, 3.10], printed as "±5.0%"),
# with a half-width inside the target: the old report called it narrow and the old stop rule stopped there.
LOPSIDED = Speedup(value=3.00, ci_low=2.76, ci_high=3.03, method="percentile bootstrap over rounds")


def test_both_ends_of_a_lopsided_interval_are_read_apart() -> None:
    assert round(LOPSIDED.relative_reach_below * 100, 1) == 8.0
    assert round(LOPSIDED.relative_reach_above * 100, 1) == 1.0
    assert LOPSIDED.relative_reach == LOPSIDED.relative_reach_below
    # The symmetric half-width hides the long end below the 5% target.
    assert LOPSIDED.relative_half_width < TARGET_RELATIVE_REACH < LOPSIDED.relative_reach


def _run_with_a_lopsided_pair() -> tuple[str, str, object]:
    run = synthetic_run()
    lopsided = replace(run.pairs[0], speedup=LOPSIDED)
    return lopsided.function, lopsided.workload, replace(run, pairs=(lopsided, *run.pairs[1:]))


def test_the_report_shows_both_ends_and_marks_the_farther_one_wide() -> None:
    function, workload, run = _run_with_a_lopsided_pair()
    text = render_report(run)  # type: ignore[arg-type]
    row = next(line for line in text.splitlines() if line.startswith(f"| {function} | {workload} |"))
    assert "-8.0% / +1.0% (wide)" in row


def test_speedups_csv_has_both_ends(tmp_path: Path) -> None:
    function, workload, run = _run_with_a_lopsided_pair()
    folder = write_run_folder(run, tmp_path)  # type: ignore[arg-type]
    with (folder / "speedups.csv").open(encoding="utf-8") as handle:
        row = next(
            r for r in csv.DictReader(handle) if (r["function"], r["workload"]) == (function, workload)
        )
    assert round(float(row["ci_below_pct"]), 1) == 8.0
    assert round(float(row["ci_above_pct"]), 1) == 1.0
    assert row["rounds_look_bimodal"] == "False"  # the synthetic pair has 5 rounds: too few to tell


def _rounds(ratios: np.ndarray) -> tuple[list[float], list[float]]:
    rust = [1_000.0] * ratios.size
    return [1_000.0 * float(r) for r in ratios], rust


def test_round_shape_flags_a_tail_of_slow_rounds_and_two_modes_but_not_noise() -> None:
    rng = np.random.default_rng(7)
    one_mode = rng.lognormal(np.log(3.0), 0.02, 40)
    low_tail = np.concatenate([rng.normal(3.06, 0.01, 32), rng.normal(2.80, 0.01, 8)])
    two_modes = np.concatenate([rng.normal(3.0, 0.01, 20), rng.normal(2.85, 0.01, 20)])
    shapes = {name: round_shape(*_rounds(r)) for name, r in [("one", one_mode), ("tail", low_tail)]}
    shapes["two"] = round_shape(*_rounds(two_modes))
    assert shapes["one"] is not None and not shapes["one"].looks_bimodal
    assert shapes["tail"] is not None and shapes["tail"].looks_bimodal
    assert shapes["two"] is not None and shapes["two"].looks_bimodal
    assert shapes["two"].dip_p_value < 0.05  # two modes of equal weight: the dip test sees them


def test_round_shape_says_nothing_about_few_or_identical_rounds() -> None:
    assert round_shape(*_rounds(np.full(40, 2.0))) is None
    assert round_shape(*_rounds(np.linspace(2.0, 3.0, 9))) is None


def test_adaptive_rounds_stop_on_the_farther_end_of_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    narrow = Speedup(value=3.0, ci_low=2.97, ci_high=3.03, method="scripted")
    intervals = iter([LOPSIDED, narrow])  # half-width 4.5% but 8% below, then within 1% both ways

    def scripted_speedup(*_: object) -> Speedup:
        return next(intervals)

    monkeypatch.setattr(harness.measure.engine.rounds, "paired_speedup", scripted_speedup)
    plan = MeasurePlan(min_rounds=4, max_rounds=50, warmups=0, pair_budget_s=1e6)
    rust, python = Side("tree", Impl.RUST), Side("tree", Impl.PYTHON)
    with ExitStack() as stack:
        pool = WorkerPool({"tree": FakeSource("tree", [])}, 1, stack)
        [rounds] = measure_rounds(pool, [Matchup("f", "w", (rust, python), stop_on=((python, rust),))], plan)
    assert rounds.ratios[python, rust] is narrow
    assert len(rounds.values_ns[rust]) == plan.min_rounds + 1  # one more round past the lopsided interval
