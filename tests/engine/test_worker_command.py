"""A real worker source: its peak-RSS child measures the side's own module, as its timing workers do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.measure.engine import WorkerCommand
from harness.measure.memory import MemoryMeasurementError
from harness.results import Impl

REPO = Path(__file__).resolve().parents[2]


def test_peak_rss_uses_the_module_of_the_side(tmp_path: Path) -> None:
    # "json" has none of the 12 functions: a child that measured sky_rs instead would report a number.
    source = WorkerCommand(
        Path(sys.executable),
        tmp_path,
        cwd=REPO,
        modules={Impl.RUST: "json", Impl.PYTHON: "harness.functions.reference"},
    )
    with pytest.raises(MemoryMeasurementError, match="json"):
        source.peak_rss_bytes("base36_encode", Impl.RUST, "md5-hex")
    assert source.peak_rss_bytes("base36_encode", Impl.PYTHON, "md5-hex") >= 0
