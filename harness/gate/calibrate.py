"""A/A calibration: how far two runs of the *same* build drift apart on this machine, per comparison.

``calibrate`` runs the candidate build against itself (separate worker processes, interleaved exactly as the
gate does) several times and records, per (function, side, workload):

* ``noise_floor``: the 95th percentile of |median log ratio| over the A/A runs, as a relative change. The
  gate raises a comparison's minimum effect to this floor: a change the same build shows against itself in
  1 run of 20 is not evidence of a regression;
* ``round_spread``: a robust standard deviation (1.4826 x MAD) of per-round log ratios;
* ``min_detectable_slowdown``: the smallest slowdown the two-stage gate flags with 95% power here. The screen
  (the plan's ``rounds``) must pick the comparison and stage 2 (``confirm_rounds`` fresh rounds) must confirm
  it; each is sized for 97.5% power, so both happen in at least 95% of runs. Normal approximations, with the
  signed-rank test's 3/pi efficiency against the t-test and the median's standard error 1.2533 s / sqrt(n)
  (s: ``round_spread``, z_q: the normal quantile, T = log(1 + minimum effect)):

  - screen: two-sided p below ``screen_level`` ((z_(1-level/2) + z_0.975) s / sqrt(3n/pi)), or a median
    beyond the minimum effect (T + z_0.975 1.2533 s / sqrt(n)), whichever is smaller; never below T, since
    the median's interval must reach beyond it;
  - stage 2: one-sided signed-rank p below alpha after Holm over ``max_suspects`` suspects, the worst case
    ((z_(1-alpha/k) + z_0.975) s / sqrt(3n/pi)), and a median beyond the minimum effect
    (T + z_0.975 1.2533 s / sqrt(n)).

  The largest of these is reported (tests/gate/test_gate_calibrate.py checks it against simulated runs).

Saved as ``reports/calibration/<machine fingerprint>.json``; the gate loads the file of its own machine.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from harness.atomic import write_text_atomic
from harness.gate.build import Build
from harness.gate.compare import GatePolicy
from harness.gate.measure import Measurements, Target, TargetKey, measure_interleaved
from harness.gate.two_stage import confirm_rounds
from harness.inputs import InputFileError, parse_json, read_bytes
from harness.measure.engine import MeasurePlan
from harness.measure.neighbour import NeighbourRecord
from harness.stats import median_detectable_log, signed_rank_detectable_log

CALIBRATION_DIR = Path("reports/calibration")
CALIBRATION_FORMAT_VERSION = 1
_STAGE_POWER = math.sqrt(0.95)  # per stage (0.975): both stages together reach 95%


class CalibrationError(ValueError):
    """A sound calibration file that this gate cannot use (another format version, another machine's)."""


class CorruptCalibrationError(InputFileError):
    """A calibration file that is unreadable, truncated or of the wrong types (exit 2)."""


@dataclass(frozen=True)
class ComparisonNoise:
    key: str  # "function/impl/workload/time"
    noise_floor: float
    round_spread: float
    min_detectable_slowdown: float
    aa_median_ratios: tuple[float, ...]


@dataclass(frozen=True)
class Calibration:
    fingerprint: str
    created_at_unix_s: float
    runs: int
    rounds: int
    comparisons: Mapping[str, ComparisonNoise] = field(default_factory=dict)
    format_version: int = CALIBRATION_FORMAT_VERSION
    # What ran beside the A/A runs (--neighbour); files written before it load with None.
    neighbour: NeighbourRecord | None = None

    def floor_for(self, key: str) -> float | None:
        noise = self.comparisons.get(key)
        return None if noise is None else noise.noise_floor

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["comparisons"] = {key: asdict(value) for key, value in sorted(self.comparisons.items())}
        return data


def key_of(target_key: TargetKey) -> str:
    function, impl, workload = target_key
    return f"{function}/{impl}/{workload}/time"


def min_detectable_slowdown(
    *, round_spread: float, rounds: int, threshold: float, policy: GatePolicy
) -> float:
    """The smallest relative slowdown the two-stage gate flags with 95% power (see the module docstring)."""
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    z_power = float(stats.norm.ppf(_STAGE_POWER))
    effect = math.log1p(threshold)

    def test_limited(z_alpha: float, n: int) -> float:
        return signed_rank_detectable_log(round_spread, n, z_alpha=z_alpha, z_power=z_power)

    def effect_limited(n: int) -> float:
        return median_detectable_log(round_spread, n, threshold=threshold, z_power=z_power)

    screen = max(
        effect,
        min(test_limited(float(stats.norm.ppf(1 - policy.screen_level / 2)), rounds), effect_limited(rounds)),
    )
    confirm_n = confirm_rounds(policy, rounds)
    confirm = max(
        test_limited(float(stats.norm.ppf(1 - policy.alpha / policy.max_suspects)), confirm_n),
        effect_limited(confirm_n),
    )
    return math.expm1(max(screen, confirm))


def noise_of(
    key: str,
    runs: Sequence[tuple[Sequence[float], Sequence[float]]],
    *,
    policy: GatePolicy,
) -> ComparisonNoise:
    """Noise of one comparison from its A/A runs, each (base values, candidate values) paired by round."""
    if not runs:
        raise ValueError(f"{key}: no A/A runs")
    medians: list[float] = []
    centred: list[np.ndarray] = []
    for base, candidate in runs:
        logs = np.log(np.asarray(candidate, dtype=float)) - np.log(np.asarray(base, dtype=float))
        median = float(np.median(logs))
        medians.append(median)
        centred.append(logs - median)
    pooled = np.concatenate(centred)
    spread = float(1.4826 * np.median(np.abs(pooled)))
    floor = math.expm1(float(np.quantile(np.abs(medians), 0.95)))
    rounds = min(len(base) for base, _ in runs)
    return ComparisonNoise(
        key=key,
        noise_floor=floor,
        round_spread=spread,
        min_detectable_slowdown=min_detectable_slowdown(
            round_spread=spread, rounds=rounds, threshold=max(policy.min_effect, floor), policy=policy
        ),
        aa_median_ratios=tuple(math.exp(m) for m in medians),
    )


def run_calibration(
    build: Build,
    targets: Sequence[Target],
    plan: MeasurePlan,
    *,
    runs: int,
    fingerprint: str,
    scratch: Path,
    policy: GatePolicy,
    progress: Callable[[str], None] = lambda message: None,
) -> Calibration:
    """``runs`` A/A gate measurements of ``build`` against itself, summarised per comparison."""
    if runs < 2:
        raise ValueError(f"calibration needs at least 2 A/A runs, got {runs}")
    aa_runs: list[Measurements] = []
    for run_index in range(runs):
        progress(f"A/A run {run_index + 1}/{runs}")
        aa_runs.append(measure_interleaved(build, build, targets, plan, scratch=scratch, progress=progress))
    return summarise_aa_runs(aa_runs, rounds=plan.rounds, fingerprint=fingerprint, policy=policy)


def summarise_aa_runs(
    aa_runs: Sequence[Measurements],
    *,
    rounds: int,
    fingerprint: str,
    policy: GatePolicy,
    neighbour: NeighbourRecord | None = None,
) -> Calibration:
    """The calibration of A/A measurements (``calibrate``'s own, or the A/A runs of ``experiment``).

    A comparison that was not measured in every run is left out: its floor would rest on fewer runs.
    """
    per_key: dict[TargetKey, list[tuple[list[float], list[float]]]] = {}
    for measurements in aa_runs:
        for target_key, base_values in measurements.base_ns.items():
            per_key.setdefault(target_key, []).append((base_values, measurements.candidate_ns[target_key]))
    return Calibration(
        fingerprint=fingerprint,
        created_at_unix_s=time.time(),
        runs=len(aa_runs),
        rounds=rounds,
        comparisons={
            key_of(target_key): noise_of(key_of(target_key), key_runs, policy=policy)
            for target_key, key_runs in per_key.items()
            if len(key_runs) == len(aa_runs)
        },
        neighbour=neighbour,
    )


def calibration_path(fingerprint: str, directory: Path = CALIBRATION_DIR) -> Path:
    return directory / f"{fingerprint}.json"


def save_calibration(calibration: Calibration, path: Path) -> None:
    """The JSON the gate reads at ``path``, and its table for people beside it (same name, ``.md``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(calibration.to_json_dict(), indent=2) + "\n")
    write_text_atomic(path.with_suffix(".md"), calibration_table(calibration))


def _check_comparisons(calibration: Calibration, path: Path) -> None:
    """Each floor is a finite, non-negative number under its own key: the gate raises thresholds to it."""
    if calibration.runs < 2 or calibration.rounds < 1:
        raise CorruptCalibrationError(
            f"{path}: needs runs >= 2 and rounds >= 1, got {calibration.runs} and {calibration.rounds}"
        )
    for key, noise in calibration.comparisons.items():
        if noise.key != key or len(key.split("/")) != 4:
            raise CorruptCalibrationError(f"{path}: comparison {key!r} holds key {noise.key!r}")
        numbers = (noise.noise_floor, noise.round_spread, noise.min_detectable_slowdown)
        if not all(math.isfinite(value) and value >= 0 for value in numbers):
            raise CorruptCalibrationError(
                f"{path}: {key}: noise_floor, round_spread and min_detectable_slowdown must be finite and "
                f">= 0, got {numbers}"
            )


def load_calibration(path: Path, *, fingerprint: str) -> Calibration:
    """The calibration at ``path``.

    CalibrationError if it is sound but not for this gate (another format version, another machine): the
    gate goes on without it. CorruptCalibrationError (an InputFileError: exit 2) if it is unreadable,
    truncated or of the wrong types: a file the harness wrote that no longer says what it wrote.
    """
    raw = read_bytes(path, CorruptCalibrationError)
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        header = None  # parse_json below names the problem
    if isinstance(header, dict):
        if header.get("format_version") != CALIBRATION_FORMAT_VERSION:
            raise CalibrationError(f"{path}: format {header.get('format_version')!r} is not supported")
        if header.get("fingerprint") != fingerprint:
            raise CalibrationError(
                f"{path} was measured on machine {header.get('fingerprint')!r}, this is {fingerprint!r}"
            )
    calibration = parse_json(Calibration, raw, path, CorruptCalibrationError)
    _check_comparisons(calibration, path)
    return calibration


def calibration_table(calibration: Calibration) -> str:
    """Markdown table of the floors, for the terminal and docs."""
    lines = [
        f"A/A calibration on `{calibration.fingerprint}`: "
        f"{calibration.runs} runs x {calibration.rounds} rounds",
        "",
        *([calibration.neighbour.summary(), ""] if calibration.neighbour is not None else []),
        "| comparison | noise floor | round spread | smallest slowdown detected at 95% power |",
        "|---|---|---|---|",
    ]
    for key, noise in sorted(calibration.comparisons.items()):
        lines.append(
            f"| {key} | {noise.noise_floor:.1%} | {noise.round_spread:.1%} "
            f"| {noise.min_detectable_slowdown:.1%} |"
        )
    return "\n".join(lines) + "\n"
