"""The calibrated noise floors a comparison of this machine uses: one rule for the gate and the experiment."""

from __future__ import annotations

from pathlib import Path

from harness.gate.calibrate import CalibrationError, calibration_path, load_calibration
from harness.measure.environment import collect_environment


def machine_fingerprint_here(repo: Path) -> str:
    return collect_environment(repo)["machine_fingerprint"]


def noise_floors(
    repo: Path, *, calibration: Path | None, use_calibration: bool
) -> tuple[dict[str, float], list[str]]:
    """Floors by comparison key from ``calibration`` (None: this machine's file under ``repo``), and notes
    saying where they came from or why there are none.

    A calibration of another machine or format is left out with a note (CalibrationError); a corrupt file
    raises CorruptCalibrationError (an InputFileError: exit 2).
    """
    if not use_calibration:
        return {}, ["calibration not used (--no-calibration)"]
    fingerprint = machine_fingerprint_here(repo)
    path = calibration or repo / calibration_path(fingerprint)
    if not path.exists():
        return {}, [f"no calibration for this machine ({path}); `make calibrate` measures the noise floors"]
    try:
        loaded = load_calibration(path, fingerprint=fingerprint)
    except CalibrationError as error:
        return {}, [f"calibration not used: {error}"]
    floors = {key: noise.noise_floor for key, noise in loaded.comparisons.items()}
    return floors, [f"noise floors from {path} ({loaded.runs} A/A runs)"]
