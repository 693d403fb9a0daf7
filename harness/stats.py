"""Statistics of a run: speedups with bootstrap intervals, verdicts on the claims, the global claims.

The speedup of a pair is the median of its per-round ratios, median(Python value_i / Rust value_i). Round i's
two values were measured back to back in one worker, so load that hit both sides of a round cancels in its
ratio; the median keeps the odd round that one side lost to a burst of load from moving the figure. (On an
A/A run of this harness, Python against itself on a busy 2-core machine, this gave intervals about half as
wide as the ratio of the two medians, and point estimates closer to 1.) The 95% interval is a percentile
bootstrap over rounds. Every bootstrap is seeded, so a run's figures are reproducible from its values.

The best possible speedup of a pair is Python time / (physical floor + Rust call floor), docs/floors.md. A
claim above all of its interval, on a pair whose speedup refutes the claim, is *impossible*.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from harness.functions.claims import (
    CLAIMED_IMPORT_TIME_NS,
    CLAIMED_MEAN_SPEEDUP,
    CLAIMED_MEMORY_REDUCTION_RANGE,
)
from harness.results import Difference, NativeEstimate, PairResult, Speedup, TimingSample, Verdict

CONFIDENCE = 0.95
# The target for every speedup interval in the default mode: both ends within 5% of its value.
TARGET_RELATIVE_REACH = 0.05
# Sarle's bimodality coefficient of a uniform distribution; a sample above it looks bimodal or has a tail.
BIMODALITY_COEFFICIENT_THRESHOLD = 5 / 9
DIP_TEST_LEVEL = 0.05
MIN_ROUNDS_FOR_SHAPE = 10
DEFAULT_RESAMPLES = 4000

FloatArray = npt.NDArray[np.float64]


def _as_positive_array(values: Sequence[float], name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name}: need a non-empty sequence of values")
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name}: values must be finite and > 0")
    return array


# The two limits of a minimum detectable effect (docs/gate.md, "What each comparison could see"): the
# signed-rank test's asymptotic efficiency against the t-test under normal noise (3/pi), and a median's
# standard error in units of sigma / sqrt(n) (sqrt(pi/2)).
SIGNED_RANK_EFFICIENCY = 3 / math.pi
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)


def signed_rank_detectable_log(sigma: float, rounds: int, *, z_alpha: float, z_power: float) -> float:
    """The log shift a signed-rank test on ``rounds`` rounds of spread ``sigma`` finds with the power of
    ``z_power`` at the level of ``z_alpha`` (normal approximation)."""
    return (z_alpha + z_power) * sigma / math.sqrt(rounds * SIGNED_RANK_EFFICIENCY)


def median_detectable_log(sigma: float, rounds: int, *, threshold: float, z_power: float) -> float:
    """The log shift whose median over ``rounds`` rounds clears ``threshold`` (0.05 = 5%) with that power."""
    return math.log1p(threshold) + z_power * MEDIAN_SE_FACTOR * sigma / math.sqrt(rounds)


def log_ratios(numerators_ns: Sequence[float], denominators_ns: Sequence[float]) -> FloatArray:
    """log(numerator / denominator) of each round; the two sequences must be paired round by round.

    Ratios are handled in log space throughout: a ratio and its inverse are symmetric there, and the median
    of an even number of rounds is the geometric mean of the middle two, whichever way the ratio is taken.
    """
    numerators = _as_positive_array(numerators_ns, "numerators")
    denominators = _as_positive_array(denominators_ns, "denominators")
    if numerators.size != denominators.size:
        raise ValueError(f"paired rounds needed: {numerators.size} and {denominators.size} values")
    logs: FloatArray = np.log(numerators) - np.log(denominators)
    return logs


def bootstrap_log_medians(logs: FloatArray, rng: np.random.Generator, resamples: int) -> FloatArray:
    """The median of ``resamples`` resamples of the rounds (whole rounds, with replacement)."""
    indices = rng.integers(0, logs.size, size=(resamples, logs.size))
    draws: FloatArray = np.median(logs[indices], axis=1)
    return draws


@dataclass(frozen=True)
class RatioInterval:
    """The median of per-round ratios and its percentile-bootstrap interval."""

    ratio: float
    ci_low: float
    ci_high: float


def median_ratio_interval(
    logs: FloatArray, *, rng: np.random.Generator, resamples: int, confidence: float = CONFIDENCE
) -> RatioInterval:
    """Median ratio of the rounds' log ratios ``logs``, with its percentile bootstrap interval over rounds.

    The bench's speedups and the gate's changes both come from here.
    """
    if logs.size == 0:
        raise ValueError("no rounds")
    return percentile_interval(
        float(np.median(logs)), bootstrap_log_medians(logs, rng, resamples), confidence
    )


def percentile_interval(
    log_center: float, log_draws: FloatArray, confidence: float = CONFIDENCE
) -> RatioInterval:
    """The ratio exp(``log_center``) with the percentile interval of its bootstrap draws (in log space)."""
    tail = (1 - confidence) / 2
    low, high = (float(x) for x in np.quantile(log_draws, [tail, 1 - tail]))
    # A percentile interval of a median can, rarely, sit just beside the point estimate; widen it to hold it.
    return RatioInterval(
        ratio=math.exp(log_center),
        ci_low=math.exp(min(low, log_center)),
        ci_high=math.exp(max(high, log_center)),
    )


def median_rank_interval(count: int, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """0-based ranks (low, high) of the distribution-free interval of a median of ``count`` values.

    [x_(j), x_(n+1-j)] (1-based), j the largest with P(Binomial(n, 1/2) < j) <= the tail: it covers the
    median with at least ``confidence``. With few values it widens to the whole range, all the data can say.
    """
    if count < 1:
        raise ValueError("no values")
    tail = (1 - confidence) / 2
    outcomes = 1 << count  # exact integer counts of outcomes: no rounding at the tail's boundary
    j, at_most_j = 1, 1 + count  # outcomes with B <= j
    while j < count and at_most_j / outcomes <= tail:  # P(B < j + 1) <= tail: j + 1 qualifies too
        j += 1
        at_most_j += math.comb(count, j)
    return j - 1, count - j


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """A distribution-free interval for the median of ``values`` (binomial order statistics)."""
    ordered = sorted(values)
    low, high = median_rank_interval(len(ordered), confidence)
    return ordered[low], ordered[high]


def paired_speedup(
    python_ns: Sequence[float], rust_ns: Sequence[float], seed: int = 0, resamples: int = DEFAULT_RESAMPLES
) -> Speedup:
    """Python/Rust as the median of per-round ratios, with its 95% bootstrap interval over rounds."""
    logs = log_ratios(python_ns, rust_ns)
    interval = median_ratio_interval(logs, rng=np.random.default_rng(seed), resamples=resamples)
    return Speedup(
        value=interval.ratio,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        method=f"median of {logs.size} per-round ratios, percentile bootstrap over rounds",
    )


def paired_difference_ns(
    slower_ns: Sequence[float], faster_ns: Sequence[float], seed: int = 0, resamples: int = DEFAULT_RESAMPLES
) -> Difference:
    """``slower - faster`` per call as the median of per-round differences, with its 95% bootstrap interval.

    The same pairing and percentile bootstrap over whole rounds as ``paired_speedup``, on differences (ns)
    instead of log ratios: the fallback's dispatch overhead is a cost added to each call, not a factor.
    """
    slower = _as_positive_array(slower_ns, "slower")
    faster = _as_positive_array(faster_ns, "faster")
    if slower.size != faster.size:
        raise ValueError(f"paired rounds needed: {slower.size} and {faster.size} values")
    differences: FloatArray = slower - faster
    center = float(np.median(differences))
    draws = bootstrap_log_medians(differences, np.random.default_rng(seed), resamples)
    tail = (1 - CONFIDENCE) / 2
    low, high = (float(x) for x in np.quantile(draws, [tail, 1 - tail]))
    return Difference(
        value_ns=center,
        ci_low_ns=min(low, center),
        ci_high_ns=max(high, center),
        method=f"median of {differences.size} per-round differences, percentile bootstrap over rounds",
    )


def with_fallback(
    pair: PairResult, fallback: TimingSample, seed: int = 0, resamples: int = DEFAULT_RESAMPLES
) -> PairResult:
    """``pair`` with its fallback side, the production speedup (Python / fallback) and the dispatch
    overhead (fallback - Rust), each paired by round with the sides timed in the same rounds."""
    return replace(
        pair,
        fallback=fallback,
        production_speedup=paired_speedup(pair.python.values_ns, fallback.values_ns, seed, resamples),
        dispatch_overhead=paired_difference_ns(fallback.values_ns, pair.rust.values_ns, seed, resamples),
    )


def fallback_slower_than_python(pair: PairResult) -> bool:
    """The path callers use is slower than the Python reference: the whole interval of Python / fallback is
    below 1."""
    return pair.production_speedup is not None and pair.production_speedup.ci_high < 1


@dataclass(frozen=True)
class RoundShape:
    """Whether a pair's per-round ratios look like one mode, or like two (or one with a tail).

    Two standard measures, since neither alone sees both shapes timing noise takes: Hartigan's dip test
    (``diptest``) finds two modes of similar weight but misses a small cluster of slow rounds; Sarle's
    bimodality coefficient, (skew^2 + 1) / (excess kurtosis + 3(n-1)^2/((n-2)(n-3))), exceeds 5/9 for a
    lopsided tail like that (and for a few outlying rounds). A flagged pair's median may move with load, and
    its interval is usually lopsided.
    """

    bimodality_coefficient: float
    dip_p_value: float

    @property
    def looks_bimodal(self) -> bool:
        return (
            self.bimodality_coefficient > BIMODALITY_COEFFICIENT_THRESHOLD
            or self.dip_p_value < DIP_TEST_LEVEL
        )


def round_shape(numerators_ns: Sequence[float], denominators_ns: Sequence[float]) -> RoundShape | None:
    """The shape of the per-round log ratios; None with fewer than 10 rounds or no spread (nothing to say)."""
    import diptest  # noqa: PLC0415 - the report alone needs these; the gate and bench import stats too
    from scipy import stats as scipy_stats  # noqa: PLC0415

    logs = log_ratios(numerators_ns, denominators_ns)
    count = logs.size
    if count < MIN_ROUNDS_FOR_SHAPE or float(np.ptp(logs)) == 0.0:
        return None
    skewness = float(scipy_stats.skew(logs, bias=False))
    excess_kurtosis = float(scipy_stats.kurtosis(logs, bias=False))
    coefficient = (skewness**2 + 1) / (excess_kurtosis + 3 * (count - 1) ** 2 / ((count - 2) * (count - 3)))
    _, dip_p_value = diptest.diptest(logs)
    return RoundShape(bimodality_coefficient=coefficient, dip_p_value=float(dip_p_value))


def rounds_look_bimodal(pair: PairResult) -> bool:
    """Whether the pair's Python/Rust rounds look bimodal or tailed (False when there are too few to tell)."""
    shape = round_shape(pair.python.values_ns, pair.rust.values_ns)
    return shape is not None and shape.looks_bimodal


def verdict(speedup: Speedup, claimed: float | None) -> Verdict:
    """confirmed: the whole interval at or above the claim; refuted: all of it below; else inconclusive."""
    if claimed is None:
        return Verdict.NO_CLAIM
    if speedup.ci_low >= claimed:
        return Verdict.CONFIRMED
    if speedup.ci_high < claimed:
        return Verdict.REFUTED
    return Verdict.INCONCLUSIVE


# A Criterion interval's half-width is 1.96 standard deviations of a normal estimate.
_NORMAL_95_HALF_WIDTHS = 2 * 1.959963984540054


def _floor_draws(floor: NativeEstimate, rng: np.random.Generator, resamples: int) -> FloatArray:
    """Draws of a floor's median: normal, its spread read off Criterion's 95% interval; kept positive."""
    spread_ns = (floor.ci_high_ns - floor.ci_low_ns) / _NORMAL_95_HALF_WIDTHS
    draws: FloatArray = np.maximum(rng.normal(floor.median_ns, spread_ns, resamples), floor.ci_low_ns / 2)
    return draws


def _median_draws(values_ns: Sequence[float], rng: np.random.Generator, resamples: int) -> FloatArray:
    array = _as_positive_array(values_ns, "values")
    draws: FloatArray = np.median(array[rng.integers(0, array.size, size=(resamples, array.size))], axis=1)
    return draws


def best_possible_speedup(
    python_ns: Sequence[float],
    floor: NativeEstimate,
    call_floor_ns: Sequence[float],
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
) -> Speedup:
    """median(Python) / (floor + median(Rust call floor)), with a 95% percentile-bootstrap interval.

    The three parts vary independently: Python's and the call floor's medians are bootstrapped over their
    rounds, the floor's median is drawn from a normal with Criterion's interval as its 95% range.
    """
    rng = np.random.default_rng(seed)
    python_draws = _median_draws(python_ns, rng, resamples)
    call_draws = _median_draws(call_floor_ns, rng, resamples)
    log_draws: FloatArray = np.log(python_draws) - np.log(_floor_draws(floor, rng, resamples) + call_draws)
    log_center = math.log(float(np.median(python_ns))) - math.log(
        floor.median_ns + float(np.median(call_floor_ns))
    )
    interval = percentile_interval(log_center, log_draws)
    return Speedup(
        value=interval.ratio,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        method="Python median / (floor + call floor), bootstrap over rounds, "
        "the floor drawn from Criterion's interval",
    )


def verdict_with_floor(speedup: Speedup, claimed: float | None, best_possible: Speedup | None) -> Verdict:
    """``verdict``, except *impossible* when the claim is above the best possible speedup's whole interval.

    Only a refuted claim can be impossible: a speedup that was measured was possible, so a claim this port
    reached (confirmed) or may have reached (inconclusive: its interval holds the claim) stays as measured,
    whatever the floor says (a floor measured above the port, as noise between the two phases can make it,
    is wrong, not the port).
    """
    measured = verdict(speedup, claimed)
    if claimed is None or best_possible is None or measured is not Verdict.REFUTED:
        return measured
    return Verdict.IMPOSSIBLE if best_possible.ci_high < claimed else measured


def apply_floors(
    pairs: Iterable[PairResult],
    floors: Mapping[str, NativeEstimate],
    call_floor: PairResult | None,
    seed: int = 0,
) -> tuple[PairResult, ...]:
    """Each pair with a floor gets its best possible speedup and the verdict that takes it into account."""
    updated: list[PairResult] = []
    for pair in pairs:
        floor = floors.get(f"{pair.function}/{pair.workload}")
        if floor is None or call_floor is None:
            updated.append(pair)
            continue
        best = best_possible_speedup(pair.python.values_ns, floor, call_floor.rust.values_ns, seed)
        updated.append(
            replace(
                pair,
                best_possible_speedup=best,
                verdict=verdict_with_floor(pair.speedup, pair.claimed_speedup, best),
            )
        )
    return tuple(updated)


@dataclass(frozen=True)
class ReachableMean:
    """The geometric mean over functions of the best possible speedups, against the average claim."""

    speedup: Speedup
    function_count: int
    claimed_speedup: float

    @property
    def reachable_fraction(self) -> float:
        """How much of the claimed average the best ports could reach (1.0: all of it)."""
        return min(1.0, self.speedup.value / self.claimed_speedup)

    @property
    def verdict(self) -> Verdict:
        if self.speedup.ci_high < self.claimed_speedup:
            return Verdict.IMPOSSIBLE
        return Verdict.CONFIRMED if self.speedup.ci_low >= self.claimed_speedup else Verdict.INCONCLUSIVE


_SPEEDUP_PARTS = ("value", "ci_low", "ci_high")


def reachable_mean_speedup(
    pairs: Iterable[PairResult], claimed: float = CLAIMED_MEAN_SPEEDUP
) -> ReachableMean | None:
    """Geometric mean over functions (each the geometric mean of its workloads) of the best possible speedups.

    Its interval is the same means of the pairs' interval ends: wider than a joint bootstrap, never
    narrower. A pair's part is never below its measured speedup (value and each end): what the port reached
    was reachable, whatever a floor measured above it says. None when no pair has a floor.
    """
    by_function: dict[str, list[Speedup]] = {}
    for pair in pairs:
        if (best := pair.best_possible_speedup) is not None:
            ends = {part: max(getattr(best, part), getattr(pair.speedup, part)) for part in _SPEEDUP_PARTS}
            by_function.setdefault(pair.function, []).append(replace(best, **ends))

    def mean_of(part: str) -> float:
        per_function = [np.mean(np.log([getattr(s, part) for s in best])) for best in by_function.values()]
        return math.exp(float(np.mean(per_function)))

    if not by_function:
        return None
    method = f"geometric mean over {len(by_function)} functions of the pairs' best possible speedups and ends"
    speedup = Speedup(**{part: mean_of(part) for part in _SPEEDUP_PARTS}, method=method)
    return ReachableMean(speedup=speedup, function_count=len(by_function), claimed_speedup=claimed)


@dataclass(frozen=True)
class GlobalSpeedup:
    """The geometric-mean speedup over functions, against the report's average claim."""

    speedup: Speedup
    function_count: int
    claimed_speedup: float
    verdict: Verdict


def geometric_mean_speedup(
    pairs: Iterable[PairResult],
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    claimed: float = CLAIMED_MEAN_SPEEDUP,
) -> GlobalSpeedup:
    """Geometric mean over functions of each function's geometric mean over its workloads.

    Each function weighs the same however many workloads it has. The interval resamples the rounds of every
    pair independently (one bootstrap draw per pair per resample), so it carries the measurement uncertainty
    of all pairs; it does not treat the 12 functions as a sample of some larger population.
    """
    by_function: dict[str, list[PairResult]] = {}
    for pair in pairs:
        by_function.setdefault(pair.function, []).append(pair)
    if not by_function:
        raise ValueError("no timed pairs: the geometric mean needs at least one")
    rng = np.random.default_rng(seed)
    # Geometric means are means of logs: each function's mean log speedup, then their mean.
    log_point_per_function: list[float] = []
    log_draws_per_function: list[FloatArray] = []
    for function_pairs in by_function.values():
        log_points = np.log([pair.speedup.value for pair in function_pairs])
        log_draws = np.stack(
            [
                bootstrap_log_medians(log_ratios(p.python.values_ns, p.rust.values_ns), rng, resamples)
                for p in function_pairs
            ]
        )
        log_point_per_function.append(float(np.mean(log_points)))
        log_draws_per_function.append(np.mean(log_draws, axis=0))
    interval = percentile_interval(
        float(np.mean(log_point_per_function)), np.mean(np.stack(log_draws_per_function), axis=0)
    )
    speedup = Speedup(
        value=interval.ratio,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        method=f"geometric mean over {len(by_function)} functions, bootstrap over rounds",
    )
    return GlobalSpeedup(
        speedup=speedup,
        function_count=len(by_function),
        claimed_speedup=claimed,
        verdict=verdict(speedup, claimed),
    )


@dataclass(frozen=True)
class MemoryReduction:
    """How much less Rust allocates than Python: 1 - rust_bytes / python_bytes, per pair and overall."""

    per_pair: Mapping[str, float]  # "function[workload]" -> reduction (0.3 = 30% fewer bytes; < 0: more)
    median_reduction: float | None  # None when no pair had memory measured on both sides
    claimed_range: tuple[float, float]

    @property
    def within_claim(self) -> bool | None:
        if self.median_reduction is None:
            return None
        low, high = self.claimed_range
        return low <= self.median_reduction <= high


def pair_memory_reduction(pair: PairResult) -> float | None:
    """1 - Rust bytes/call / Python bytes/call (0.25: Rust allocates 25% less); None if not measured or if
    Python allocates nothing (no ratio to take)."""
    if pair.rust_memory is None or pair.python_memory is None:
        return None
    python_bytes = pair.python_memory.alloc_bytes_per_call
    if python_bytes <= 0:
        return None
    return 1 - pair.rust_memory.alloc_bytes_per_call / python_bytes


def memory_reduction(pairs: Iterable[PairResult]) -> MemoryReduction:
    """Per-pair reduction of allocated bytes and their median; pairs without a reduction are left out."""
    per_pair: dict[str, float] = {}
    for pair in pairs:
        reduction = pair_memory_reduction(pair)
        if reduction is not None:
            per_pair[f"{pair.function}[{pair.workload}]"] = reduction
    median = float(np.median(list(per_pair.values()))) if per_pair else None
    return MemoryReduction(
        per_pair=per_pair, median_reduction=median, claimed_range=CLAIMED_MEMORY_REDUCTION_RANGE
    )


def import_time_within_claim(import_time_ns: float, claimed_ns: float = CLAIMED_IMPORT_TIME_NS) -> bool:
    """True when importing sky_rs took less than the claimed start-up overhead (5 ms)."""
    if not math.isfinite(import_time_ns) or import_time_ns < 0:
        raise ValueError(f"import time must be a finite non-negative number, got {import_time_ns}")
    return import_time_ns < claimed_ns
