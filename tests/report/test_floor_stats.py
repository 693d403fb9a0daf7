"""The best possible speedup, the impossible verdict and the reachable part of the average claim."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from harness.results import NativeEstimate, Speedup, Verdict
from harness.stats import (
    apply_floors,
    best_possible_speedup,
    reachable_mean_speedup,
    verdict_with_floor,
)

from .synthetic import pair

PYTHON_NS = [1000.0, 1010.0, 990.0, 1005.0, 995.0, 1002.0, 998.0]
CALL_FLOOR_NS = [50.0, 51.0, 49.0, 50.5, 49.5, 50.0, 50.2]


def _speedup(value: float, low: float, high: float) -> Speedup:
    return Speedup(value=value, ci_low=low, ci_high=high, method="test")


def test_best_possible_is_python_over_floor_plus_call_floor() -> None:
    floor = NativeEstimate(median_ns=150.0, ci_low_ns=149.0, ci_high_ns=151.0)
    best = best_possible_speedup(PYTHON_NS, floor, CALL_FLOOR_NS)
    assert best.value == pytest.approx(1000.0 / (150.0 + 50.0))
    assert best.ci_low < best.value < best.ci_high


def test_a_wider_floor_interval_widens_the_best_possible_interval() -> None:
    narrow = best_possible_speedup(PYTHON_NS, NativeEstimate(150.0, 149.0, 151.0), CALL_FLOOR_NS)
    wide = best_possible_speedup(PYTHON_NS, NativeEstimate(150.0, 100.0, 200.0), CALL_FLOOR_NS)
    assert wide.ci_low < narrow.ci_low and wide.ci_high > narrow.ci_high
    assert wide.value == pytest.approx(narrow.value)


def test_a_claim_above_the_whole_best_possible_interval_is_impossible() -> None:
    measured = _speedup(3.0, 2.8, 3.2)
    assert verdict_with_floor(measured, 10.0, _speedup(5.0, 4.5, 5.5)) is Verdict.IMPOSSIBLE


def test_a_claim_inside_the_best_possible_interval_is_only_refuted() -> None:
    measured = _speedup(3.0, 2.8, 3.2)
    assert verdict_with_floor(measured, 5.2, _speedup(5.0, 4.5, 5.5)) is Verdict.REFUTED
    assert verdict_with_floor(measured, 5.2, None) is Verdict.REFUTED


def test_a_confirmed_claim_is_never_impossible() -> None:
    measured = _speedup(12.0, 11.0, 13.0)
    assert verdict_with_floor(measured, 10.0, _speedup(5.0, 4.5, 5.5)) is Verdict.CONFIRMED


def test_a_claim_the_port_may_have_reached_is_never_impossible() -> None:
    measured = _speedup(9.5, 8.0, 11.0)  # inconclusive against 10x: the port's interval holds the claim
    assert verdict_with_floor(measured, 10.0, _speedup(5.0, 4.5, 5.5)) is Verdict.INCONCLUSIVE


def test_no_claim_stays_no_claim() -> None:
    assert verdict_with_floor(_speedup(3.0, 2.8, 3.2), None, _speedup(5.0, 4.5, 5.5)) is Verdict.NO_CLAIM


def test_apply_floors_sets_best_possible_and_the_verdict() -> None:
    slow = pair("get_parallel_threads", "default", 2000.0, 1900.0, claim=10.0, verdict=Verdict.REFUTED)
    unfloored = pair("format_float", "mixed-p1", 300.0, 100.0, claim=4.0, verdict=Verdict.REFUTED)
    call_floor = pair("_noop", "call", 40.0, 50.0)
    floors = {"get_parallel_threads/default": NativeEstimate(1600.0, 1590.0, 1610.0)}
    updated = apply_floors([slow, unfloored], floors, call_floor)
    best = updated[0].best_possible_speedup
    assert best is not None and best.value == pytest.approx(2000.0 / 1650.0)
    assert updated[0].verdict is Verdict.IMPOSSIBLE
    assert updated[1] == unfloored
    assert apply_floors([slow], floors, None) == (slow,)


def test_reachable_mean_is_a_geometric_mean_over_functions() -> None:
    pairs = [  # measured 1x: below every best possible, so none is raised to what its port reached
        pair("a", "1", 100.0, 100.0),
        pair("a", "2", 100.0, 100.0),
        pair("b", "1", 100.0, 100.0),
    ]
    bests = [_speedup(2.0, 1.8, 2.2), _speedup(8.0, 7.0, 9.0), _speedup(16.0, 15.0, 17.0)]
    floored = [replace(p, best_possible_speedup=b) for p, b in zip(pairs, bests, strict=True)]
    reachable = reachable_mean_speedup(floored, claimed=8.5)
    assert reachable is not None
    # function a: sqrt(2 * 8) = 4; function b: 16; their geometric mean: 8.
    assert reachable.speedup.value == pytest.approx(8.0)
    assert reachable.speedup.ci_low == pytest.approx(math.sqrt(math.sqrt(1.8 * 7.0) * 15.0))
    assert reachable.function_count == 2
    assert reachable.verdict is Verdict.INCONCLUSIVE  # 8.5 is inside [low, high]
    assert reachable.reachable_fraction == pytest.approx(8.0 / 8.5)
    low = reachable_mean_speedup(floored, claimed=20.0)
    assert low is not None and low.verdict is Verdict.IMPOSSIBLE
    assert reachable_mean_speedup(pairs) is None


def test_the_reachable_mean_is_never_below_what_the_ports_reached() -> None:
    # A floor measured above the port (best possible 1.5x against a measured 2x) counts as the measured 2x.
    measured = pair("a", "1", 100.0, 50.0)
    floored = replace(measured, best_possible_speedup=_speedup(1.5, 1.4, 1.6))
    reachable = reachable_mean_speedup([floored], claimed=1.8)
    assert reachable is not None
    assert reachable.speedup.value == pytest.approx(measured.speedup.value)
    assert reachable.speedup.ci_low == pytest.approx(measured.speedup.ci_low)
    assert reachable.verdict is not Verdict.IMPOSSIBLE
