"""harness.stats: intervals that cover known ratios, verdict rules, the global claims."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from harness.results import Impl, MemorySample, PairResult, Speedup, TimingSample, Verdict
from harness.stats import (
    geometric_mean_speedup,
    import_time_within_claim,
    median_interval,
    median_rank_interval,
    memory_reduction,
    paired_speedup,
    verdict,
)


def _noisy_rounds(true_ratio: float, rounds: int, seed: int) -> tuple[list[float], list[float]]:
    """Rust and Python values with shared per-round drift and own noise; Python is true_ratio slower."""
    rng = np.random.default_rng(seed)
    drift = rng.lognormal(0.0, 0.05, rounds)
    rust = 1000.0 * drift * rng.lognormal(0.0, 0.02, rounds)
    python = 1000.0 * true_ratio * drift * rng.lognormal(0.0, 0.02, rounds)
    return list(python), list(rust)


@pytest.mark.parametrize("true_ratio", [0.5, 1.0, 3.0, 12.0])
def test_interval_covers_the_known_ratio(true_ratio: float) -> None:
    python, rust = _noisy_rounds(true_ratio, rounds=40, seed=1)
    speedup = paired_speedup(python, rust, seed=0)
    assert speedup.ci_low <= true_ratio <= speedup.ci_high
    assert speedup.ci_low <= speedup.value <= speedup.ci_high
    # With 2% noise and 40 rounds the interval is narrow: a wrong estimator (e.g. Rust/Python) would miss.
    assert speedup.relative_half_width < 0.05


def test_pairing_removes_shared_drift() -> None:
    # Drift of 30% between rounds, hitting both sides alike: the paired interval must still be tight.
    drift = np.linspace(1.0, 1.3, 30)
    speedup = paired_speedup(list(4.0 * drift), list(drift), seed=0)
    assert speedup.value == pytest.approx(4.0)
    assert speedup.ci_low == pytest.approx(4.0)
    assert speedup.ci_high == pytest.approx(4.0)


def test_interval_is_reproducible_from_its_seed() -> None:
    python, rust = _noisy_rounds(2.0, rounds=20, seed=3)
    assert paired_speedup(python, rust, seed=7) == paired_speedup(python, rust, seed=7)


@pytest.mark.parametrize(
    ("python", "rust", "message"),
    [([1.0, 2.0], [1.0], "paired"), ([], [], "non-empty"), ([1.0, -1.0], [1.0, 1.0], "> 0")],
)
def test_bad_values_are_rejected(python: list[float], rust: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paired_speedup(python, rust)


@pytest.mark.parametrize(
    ("low", "high", "claim", "expected"),
    [
        (5.0, 6.0, 5.0, Verdict.CONFIRMED),  # the whole interval at the claim counts
        (5.1, 6.0, 5.0, Verdict.CONFIRMED),
        (3.0, 4.99, 5.0, Verdict.REFUTED),
        (4.0, 6.0, 5.0, Verdict.INCONCLUSIVE),
        (3.0, 5.0, 5.0, Verdict.INCONCLUSIVE),  # the top touches the claim: not refuted
    ],
)
def test_verdict_rules(low: float, high: float, claim: float, expected: Verdict) -> None:
    speedup = Speedup(value=(low + high) / 2, ci_low=low, ci_high=high, method="test")
    assert verdict(speedup, claim) is expected


def test_no_claim_gives_no_claim() -> None:
    assert verdict(Speedup(2.0, 1.0, 3.0, "test"), None) is Verdict.NO_CLAIM


def _pair(
    function: str, ratio: float, *, rust_bytes: float | None = None, python_bytes: float | None = None
) -> PairResult:
    rust_values = tuple(100.0 + i for i in range(10))
    python_values = tuple(v * ratio for v in rust_values)
    speedup = paired_speedup(python_values, rust_values)

    def memory(impl: Impl, amount: float | None) -> MemorySample | None:
        return None if amount is None else MemorySample(function, impl, "w", amount, 1.0)

    return PairResult(
        function=function,
        workload="w",
        size=None,
        size_unit="",
        rust=TimingSample(function, Impl.RUST, "w", rust_values, 1),
        python=TimingSample(function, Impl.PYTHON, "w", python_values, 1),
        speedup=speedup,
        claimed_speedup=None,
        verdict=Verdict.NO_CLAIM,
        rust_memory=memory(Impl.RUST, rust_bytes),
        python_memory=memory(Impl.PYTHON, python_bytes),
    )


def test_geometric_mean_weighs_functions_not_workloads() -> None:
    # f has two workloads at 2x and 8x (its own mean 4x); g one at 16x: the mean over functions is 8x.
    pairs = [_pair("f", 2.0), _pair("f", 8.0), _pair("g", 16.0)]
    result = geometric_mean_speedup(pairs)
    assert result.function_count == 2
    assert result.speedup.value == pytest.approx(8.0)
    # Noise-free ratios: every resample gives the same mean, so the interval is the point, below 8.5x.
    assert result.speedup.ci_low == pytest.approx(8.0)
    assert result.speedup.ci_high == pytest.approx(8.0)
    assert result.verdict is Verdict.REFUTED


def test_geometric_mean_needs_pairs() -> None:
    with pytest.raises(ValueError, match="at least one"):
        geometric_mean_speedup([])


def test_memory_reduction_per_pair_and_median() -> None:
    pairs = [
        _pair("f", 2.0, rust_bytes=70.0, python_bytes=100.0),  # 30% less
        _pair("g", 2.0, rust_bytes=150.0, python_bytes=100.0),  # 50% more
        _pair("h", 2.0, rust_bytes=80.0, python_bytes=100.0),  # 20% less
        _pair("i", 2.0),  # not measured: left out
    ]
    result = memory_reduction(pairs)
    assert result.per_pair == pytest.approx({"f[w]": 0.3, "g[w]": -0.5, "h[w]": 0.2})
    assert result.median_reduction == pytest.approx(0.2)
    assert result.within_claim is True


def test_import_time_claim() -> None:
    assert import_time_within_claim(4_999_999.0)
    assert not import_time_within_claim(5_000_000.0)
    with pytest.raises(ValueError):
        import_time_within_claim(float("nan"))


def test_interval_uses_the_pairing_of_rounds() -> None:
    # Load that changes 30% from round to round but hits both sides of a round alike must not widen the
    # interval: here the per-round ratios give +-1.5%, the ratio of the two medians about +-4%.
    rng = np.random.default_rng(5)
    load = rng.lognormal(0.0, 0.3, 40)
    rust = 1000.0 * load * rng.lognormal(0.0, 0.02, 40)
    python = 3000.0 * load * rng.lognormal(0.0, 0.02, 40)
    speedup = paired_speedup(list(python), list(rust))
    assert speedup.ci_low <= 3.0 <= speedup.ci_high
    assert speedup.relative_half_width < 0.025


def test_median_interval_contains_the_median_and_narrows_with_more_values() -> None:
    few = [100.0, 101.0, 99.0, 102.0, 98.0]  # 5 values: the interval is the whole range
    assert median_interval(few) == (98.0, 102.0)
    many = [float(value) for value in range(1, 101)]
    low, high = median_interval(many)
    assert low < 50.5 < high
    assert low > 30 and high < 70


@pytest.mark.parametrize("count", [1, 2, 5, 6, 9, 14, 15, 20, 42, 60, 101, 400])
def test_median_rank_interval_is_the_binomial_order_statistic_interval(count: int) -> None:
    low, high = median_rank_interval(count, 0.95)
    assert (low, high) == (count - 1 - high, count - 1 - low)  # symmetric around the middle
    # Coverage of [x_(low+1), x_(high+1)]: P(low < B <= high) for B ~ Binomial(count, 1/2), the number of
    # values below the true median. It must reach 95%, and the next narrower interval must not.
    coverage = stats.binom.cdf(high, count, 0.5) - stats.binom.cdf(low, count, 0.5)
    if count >= 6:  # 5 values and fewer cannot reach 95%: the whole range is all there is
        assert coverage >= 0.95
        narrower = stats.binom.cdf(high - 1, count, 0.5) - stats.binom.cdf(low + 1, count, 0.5)
        assert narrower < 0.95
    else:
        assert (low, high) == (0, count - 1)
