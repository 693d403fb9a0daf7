"""Statistics of a run: speedups with bootstrap intervals, verdicts on the claims, the global claims.

The speedup of a pair is the median of its per-round ratios, median(Python value_i / Rust value_i). Round i's
two values were measured back to back in one worker, so load that hit both sides of a round cancels in its
ratio; the median keeps the odd round that one side lost to a burst of load from moving the figure. (On an
A/A run of this harness, Python against itself on a busy 2-core machine, this gave intervals about half as
wide as the ratio of the two medians, and point estimates closer to 1.) The 95% interval is a percentile
bootstrap over rounds. Every bootstrap is seeded, so a run's figures are reproducible from its values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.claims import CLAIMED_IMPORT_TIME_NS, CLAIMED_MEAN_SPEEDUP, CLAIMED_MEMORY_REDUCTION_RANGE
from harness.results import PairResult, Speedup, Verdict

CONFIDENCE = 0.95
# The target for every speedup interval in the default mode: within +-5% of its value.
TARGET_RELATIVE_HALF_WIDTH = 0.05
DEFAULT_RESAMPLES = 4000

FloatArray = npt.NDArray[np.float64]


def _as_positive_array(values: Sequence[float], name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name}: need a non-empty sequence of values")
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name}: values must be finite and > 0")
    return array


def round_ratios(python_ns: Sequence[float], rust_ns: Sequence[float]) -> FloatArray:
    """Python value / Rust value of each round; the two sequences must be paired round by round."""
    python = _as_positive_array(python_ns, "python")
    rust = _as_positive_array(rust_ns, "rust")
    if python.size != rust.size:
        raise ValueError(f"paired rounds needed: {python.size} Python values, {rust.size} Rust values")
    ratios: FloatArray = python / rust
    return ratios


def bootstrap_ratios(
    python_ns: Sequence[float], rust_ns: Sequence[float], rng: np.random.Generator, resamples: int
) -> FloatArray:
    """The speedup (median of per-round ratios) of ``resamples`` resamples of the rounds."""
    ratios = round_ratios(python_ns, rust_ns)
    indices = rng.integers(0, ratios.size, size=(resamples, ratios.size))
    draws: FloatArray = np.median(ratios[indices], axis=1)
    return draws


def _interval(point: float, draws: FloatArray, method: str) -> Speedup:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = (float(x) for x in np.percentile(draws, [tail, 100 - tail]))
    # A percentile interval of a median can, rarely, sit just beside the point estimate; widen it to hold it.
    return Speedup(value=point, ci_low=min(low, point), ci_high=max(high, point), method=method)


def paired_speedup(
    python_ns: Sequence[float], rust_ns: Sequence[float], seed: int = 0, resamples: int = DEFAULT_RESAMPLES
) -> Speedup:
    """Python/Rust as the median of per-round ratios, with its 95% bootstrap interval over rounds."""
    ratios = round_ratios(python_ns, rust_ns)
    point = float(np.median(ratios))
    draws = bootstrap_ratios(python_ns, rust_ns, np.random.default_rng(seed), resamples)
    return _interval(
        point, draws, f"median of {ratios.size} per-round ratios, percentile bootstrap over rounds"
    )


def verdict(speedup: Speedup, claimed: float | None) -> Verdict:
    """confirmed: the whole interval at or above the claim; refuted: all of it below; else inconclusive."""
    if claimed is None:
        return Verdict.NO_CLAIM
    if speedup.ci_low >= claimed:
        return Verdict.CONFIRMED
    if speedup.ci_high < claimed:
        return Verdict.REFUTED
    return Verdict.INCONCLUSIVE


def _geometric_mean(values: FloatArray, axis: int = 0) -> FloatArray:
    result: FloatArray = np.exp(np.mean(np.log(values), axis=axis))
    return result


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
    point_per_function: list[float] = []
    draws_per_function: list[FloatArray] = []
    for function_pairs in by_function.values():
        points = np.array([pair.speedup.value for pair in function_pairs])
        draws = np.stack(
            [bootstrap_ratios(p.python.values_ns, p.rust.values_ns, rng, resamples) for p in function_pairs]
        )
        point_per_function.append(float(_geometric_mean(points)))
        draws_per_function.append(_geometric_mean(draws, axis=0))
    point = float(_geometric_mean(np.array(point_per_function)))
    draws_all = _geometric_mean(np.stack(draws_per_function), axis=0)
    speedup = _interval(
        point, draws_all, f"geometric mean over {len(by_function)} functions, bootstrap over rounds"
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
