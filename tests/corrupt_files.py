"""Valid input files of every kind the harness reads, and seeded ways to spoil them.

Shared by ``test_corrupt_inputs.py`` (every command, in subprocesses) and ``test_input_loaders.py`` (each
loader, in process, with hypothesis). A spoilt file is made from a file the harness itself wrote, so each
case differs from a good file by exactly the damage it names.
"""

from __future__ import annotations

import io
import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.gate.calibrate import Calibration, ComparisonNoise, save_calibration
from harness.gate.config import DEFAULT_CONFIG
from harness.run_json import save_run
from harness.sinks.baseline import write_baseline
from harness.telemetry import TelemetryConfig, emit_run
from harness.telemetry.config import HostPort

from .telemetry.synthetic import MACHINE, synthetic_run

REPO = Path(__file__).resolve().parents[1]
SEED = 20261201
# Nothing listens there: a run that "sends" to it keeps its payloads in unsent/.
DOWN = HostPort("127.0.0.1", 9)


def random_bytes(size: int, seed: int = SEED) -> bytes:
    return random.Random(seed).randbytes(size)


def truncated(raw: bytes, fraction: float = 0.5) -> bytes:
    return raw[: int(len(raw) * fraction)]


def edit_json(raw: bytes, change: Callable[[Any], object]) -> bytes:
    data = json.loads(raw)
    change(data)
    return json.dumps(data).encode()


def make_run_folder(folder: Path) -> Path:
    """A bench run folder whose two servers were down: run.json, metrics.prom, telemetry.json, unsent/."""
    folder.mkdir(parents=True, exist_ok=True)
    run = synthetic_run()
    save_run(run, folder)
    config = TelemetryConfig(pushgateway=DOWN, statsd=DOWN, send_timeout_seconds=0.5)
    emit_run(run, folder, config, stderr=io.StringIO())
    return folder


def make_gate_toml(path: Path) -> Path:
    shutil.copyfile(DEFAULT_CONFIG, path)
    return path


def make_baseline(folder: Path, fingerprint: str = MACHINE) -> Path:
    """A baseline CSV and its sidecar, as ``make baseline`` writes them; returns the CSV."""
    run = synthetic_run(machine=fingerprint)
    return write_baseline(run, folder)


def make_calibration(path: Path, fingerprint: str = MACHINE) -> Path:
    noise = ComparisonNoise(
        key="format_float/python/mixed-p1/time",
        noise_floor=0.012,
        round_spread=0.03,
        min_detectable_slowdown=0.07,
        aa_median_ratios=(1.01, 0.99, 1.0),
    )
    calibration = Calibration(
        fingerprint=fingerprint, created_at_unix_s=1.7e9, runs=3, rounds=20, comparisons={noise.key: noise}
    )
    save_calibration(calibration, path)
    return path
