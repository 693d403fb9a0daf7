"""Change points of a series: where a side's time stepped, by how much, and how sure that is.

Candidates come from ``ruptures`` (PELT on the log of the times, so a step is a ratio and a 10%
slowdown weighs the same at 100 ns as at 1 ms), with a penalty scaled to the series' own run-to-run noise,
estimated robustly from successive differences (a step is one large difference and does not inflate it).
Each candidate is then judged as the gate judges a change: the ratio of the medians after and before it,
with a seeded bootstrap interval over the points of the two segments; a step is kept only when its whole
interval lies beyond ``min_effect`` on one side. Rejected candidates are dropped one at a time (weakest
first) and their segments merged, so a spurious break never splits the evidence of a real one.

Why ruptures: maintained, BSD, wheels for this Python, a documented search API that leaves the significance
rule to us (so it is the same bootstrap-interval rule as the rest of the harness). apache-otava and MongoDB's
E-Divisive bring their own significance tests and configuration layers, which would be a second rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.history.series import Point, Series, SeriesKey
from harness.stats import DEFAULT_RESAMPLES, FloatArray, bootstrap_log_medians, percentile_interval

MIN_SEGMENT_POINTS = 2
DEFAULT_MIN_EFFECT = 0.05
# PELT's penalty per change point, in units of the noise variance times log(points): BIC would be 2; a
# little more keeps noise from proposing many breaks that the interval test then has to reject.
PENALTY_PER_LOG_POINT = 3.0
NOISE_FLOOR_LOG = 1e-3  # a series of identical values still has a scale (0.1%) to measure steps against


@dataclass(frozen=True)
class Step:
    """A change point: the series' median time changed from ``before_ns`` to ``after_ns`` at ``at``."""

    key: SeriesKey
    source: str
    index: int  # the first point after the step
    at: Point
    before_ns: float
    after_ns: float
    change_ratio: float  # after / before; > 1 is slower
    ci_low: float
    ci_high: float

    @property
    def is_regression(self) -> bool:
        return self.ci_low > 1

    @property
    def direction(self) -> str:
        return "regression" if self.is_regression else "improvement"


def noise_sigma_log(logs: FloatArray) -> float:
    """Run-to-run noise of log times: the MAD of successive differences, scaled to a normal's sigma."""
    if logs.size < 3:
        return NOISE_FLOOR_LOG
    differences = np.diff(logs)
    mad = float(np.median(np.abs(differences - np.median(differences))))
    return max(1.4826 * mad / math.sqrt(2), NOISE_FLOOR_LOG)


def candidate_breaks(logs: FloatArray) -> list[int]:
    """PELT's change points (indices of the first point after each), without the series end."""
    if logs.size < 2 * MIN_SEGMENT_POINTS:
        return []
    import ruptures  # noqa: PLC0415 - it imports scipy: not for `history --help`

    penalty = PENALTY_PER_LOG_POINT * noise_sigma_log(logs) ** 2 * math.log(logs.size)
    search = ruptures.Pelt(model="l2", min_size=MIN_SEGMENT_POINTS, jump=1).fit(logs.reshape(-1, 1))
    return [int(index) for index in search.predict(pen=penalty)[:-1]]


def step_interval(
    before: FloatArray, after: FloatArray, *, seed: int, resamples: int = DEFAULT_RESAMPLES
) -> tuple[float, float, float]:
    """(ratio, low, high): median(after) / median(before) with a bootstrap interval (independent segments)."""
    rng = np.random.default_rng(seed)
    draws = bootstrap_log_medians(after, rng, resamples) - bootstrap_log_medians(before, rng, resamples)
    interval = percentile_interval(float(np.median(after) - np.median(before)), draws)
    return interval.ratio, interval.ci_low, interval.ci_high


def _beyond_effect(low: float, high: float, min_effect: float) -> bool:
    return low > 1 + min_effect or high < 1 / (1 + min_effect)


def _judged(
    logs: FloatArray, breaks: list[int], min_effect: float, seed: int
) -> list[tuple[float, float, float, float]]:
    """(ratio, low, high, strength) per break, each against its neighbouring segments."""
    edges = [0, *breaks, logs.size]
    judged = []
    for position, index in enumerate(breaks):
        before, after = logs[edges[position] : index], logs[index : edges[position + 2]]
        ratio, low, high = step_interval(before, after, seed=seed + index)
        # How far the interval's near end lies beyond the effect, in log units (negative: not beyond).
        strength = max(math.log(low / (1 + min_effect)), math.log((1 / (1 + min_effect)) / high))
        judged.append((ratio, low, high, strength))
    return judged


def find_steps(series: Series, *, min_effect: float = DEFAULT_MIN_EFFECT, seed: int = 0) -> tuple[Step, ...]:
    """The series' steps whose interval lies wholly beyond ``min_effect`` (a ratio of 1 + min_effect)."""
    if min_effect < 0:
        raise ValueError("min_effect must be >= 0")
    logs: FloatArray = np.log(np.array([point.median_ns for point in series.points], dtype=np.float64))
    breaks = candidate_breaks(logs)
    while breaks:
        judged = _judged(logs, breaks, min_effect, seed)
        weakest = min(range(len(breaks)), key=lambda position: judged[position][3])
        if _beyond_effect(judged[weakest][1], judged[weakest][2], min_effect):
            break
        del breaks[weakest]
    judged = _judged(logs, breaks, min_effect, seed) if breaks else []
    edges = [0, *breaks, logs.size]
    steps = []
    for position, (index, (ratio, low, high, _)) in enumerate(zip(breaks, judged, strict=True)):
        steps.append(
            Step(
                key=series.key,
                source=series.source,
                index=index,
                at=series.points[index],
                before_ns=float(np.exp(np.median(logs[edges[position] : index]))),
                after_ns=float(np.exp(np.median(logs[index : edges[position + 2]]))),
                change_ratio=ratio,
                ci_low=low,
                ci_high=high,
            )
        )
    return tuple(steps)


def is_new_regression(step: Step, series: Series, new_within: int) -> bool:
    """A regression step among the series' last ``new_within`` points: what a nightly job alerts on."""
    return step.is_regression and step.index >= len(series.points) - new_within
