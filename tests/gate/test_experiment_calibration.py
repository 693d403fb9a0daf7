"""The experiment judges its runs with the noise floors the gate would use: ``--calibration`` included."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.commands.experiment import experiment_options
from harness.gate import noise_floors as noise_floors_module
from harness.gate.build import Build
from harness.gate.calibrate import Calibration, ComparisonNoise, save_calibration
from harness.gate.experiment import runs
from harness.gate.measure import Measurements
from harness.results import GateComparison

REPO = Path(__file__).resolve().parents[2]
FINGERPRINT = "test-machine"
KEY = "format_float/python/mixed-p0/time"


def _calibration_file(folder: Path, noise_floor: float) -> Path:
    noise = ComparisonNoise(KEY, noise_floor, 0.01, 0.05, (1.0, 1.01, 0.99))
    path = folder / "given.json"
    save_calibration(Calibration(FINGERPRINT, 0.0, runs=3, rounds=10, comparisons={KEY: noise}), path)
    return path


def _floors_of_one_aa_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *flags: str) -> dict[str, float]:
    """``experiment FLAGS --aa-runs 1 --runs 0`` with the build and the run faked: the floors it used."""
    monkeypatch.setattr(noise_floors_module, "machine_fingerprint_here", lambda repo: FINGERPRINT)
    clean = Build("experiment-clean", "0" * 40, REPO, REPO / ".venv" / "bin" / "python")
    monkeypatch.setattr(runs, "build_commit", lambda *args, **kwargs: clean)
    used: list[dict[str, float]] = []

    def one_run(
        base: Build, candidate: Build, setting: runs._Setting
    ) -> tuple[Measurements, list[GateComparison]]:
        used.append(setting.floors)
        return Measurements(), []

    monkeypatch.setattr(runs, "_one_run", one_run)
    arguments = build_parser().parse_args(["experiment", *flags, "--aa-runs", "1", "--runs", "0"])
    options = experiment_options(arguments, REPO, tmp_path / "out")
    rows = runs.run_experiment(options)
    assert [row.kind for row in rows] == ["A/A"]
    (floors,) = used
    return floors


def test_the_experiment_uses_the_calibration_file_it_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _calibration_file(tmp_path, noise_floor=0.0375)
    floors = _floors_of_one_aa_run(monkeypatch, tmp_path, "--calibration", str(path))
    assert floors == {KEY: 0.0375}


def test_no_calibration_wins_over_a_given_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _calibration_file(tmp_path, noise_floor=0.0375)
    floors = _floors_of_one_aa_run(monkeypatch, tmp_path, "--calibration", str(path), "--no-calibration")
    assert floors == {}
