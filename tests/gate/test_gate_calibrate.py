"""Calibration summaries on synthetic A/A runs, the calibration file, and the settings file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from harness.gate.calibrate import (
    Calibration,
    CalibrationError,
    load_calibration,
    min_detectable_slowdown,
    noise_of,
    save_calibration,
)
from harness.gate.compare import GatePolicy
from harness.gate.config import ConfigError, load_config, parse_config


def _aa_runs(
    rng: np.random.Generator, *, spread: float, bias: float, runs: int = 20, rounds: int = 15
) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    result: list[tuple[tuple[float, ...], tuple[float, ...]]] = []
    for _ in range(runs):
        base = 1000 * np.exp(rng.normal(0, spread, rounds))
        candidate = 1000 * math.exp(rng.normal(0, bias)) * np.exp(rng.normal(0, spread, rounds))
        result.append((tuple(float(v) for v in base), tuple(float(v) for v in candidate)))
    return result


def test_noise_floor_grows_with_between_run_drift() -> None:
    rng = np.random.default_rng(11)
    quiet = noise_of("k", _aa_runs(rng, spread=0.01, bias=0.0), comparisons=48, policy=GatePolicy())
    drifting = noise_of("k", _aa_runs(rng, spread=0.01, bias=0.05), comparisons=48, policy=GatePolicy())
    assert quiet.noise_floor < 0.02
    assert drifting.noise_floor > 0.05  # a 5% per-run drift: the 95th percentile of |drift| is ~10%
    assert quiet.round_spread == pytest.approx(0.01 * math.sqrt(2), rel=0.25)  # two noisy sides per ratio


def test_min_detectable_slowdown_shrinks_with_rounds_and_never_beats_the_minimum_effect() -> None:
    def mds(spread: float, rounds: int) -> float:
        return min_detectable_slowdown(
            round_spread=spread, rounds=rounds, comparisons=48, threshold=0.05, alpha=0.05
        )

    assert mds(0.05, 40) < mds(0.05, 15)
    assert mds(0.10, 15) > mds(0.05, 15)
    assert mds(0.0, 15) == pytest.approx(0.05)  # noiseless: exactly the minimum effect


def test_calibration_round_trips_and_refuses_another_machine(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    noise = noise_of(
        "f/python/w/time", _aa_runs(rng, spread=0.02, bias=0.01), comparisons=1, policy=GatePolicy()
    )
    calibration = Calibration("machine-a", 0.0, 20, 15, {noise.key: noise})
    path = tmp_path / "machine-a.json"
    save_calibration(calibration, path)
    loaded = load_calibration(path, fingerprint="machine-a")
    assert loaded.floor_for("f/python/w/time") == pytest.approx(noise.noise_floor)
    assert loaded.floor_for("unknown") is None
    with pytest.raises(CalibrationError, match="machine-a"):
        load_calibration(path, fingerprint="machine-b")


def test_settings_file_ships_valid_and_bad_settings_are_rejected(tmp_path: Path) -> None:
    config = load_config()
    assert config.floor_for("base36_encode") == 1.0
    assert config.floor_for("hash_file") < 1.0
    with pytest.raises(ConfigError, match="unknown"):
        parse_config({"policy": {"alpah": 0.05}})
    with pytest.raises(ConfigError, match="correction"):
        parse_config({"policy": {"correction": "bonferroni"}})
    with pytest.raises(ConfigError, match="floors"):
        parse_config({"floors": {"default": -1}})
    with pytest.raises(ConfigError, match="alpha"):
        parse_config({"policy": {"alpha": 2}})
    broken = tmp_path / "gate.toml"
    broken.write_text("[policy\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(broken)
