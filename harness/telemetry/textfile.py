"""The Prometheus textfile sink: ``metrics.prom`` in the run folder, node_exporter textfile-collector format.

Written by every run: it needs no server. Point node_exporter's ``--collector.textfile.directory`` at a folder
holding a copy (or a symlink to ``reports/latest/metrics.prom``) to have it scraped.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import generate_latest

from harness.results import RunResult
from harness.telemetry.delivery import write_atomically
from harness.telemetry.metrics import run_registry

TEXTFILE_NAME = "metrics.prom"


def exposition(run: RunResult, *, succeeded: bool) -> bytes:
    """The run's metrics in the Prometheus text exposition format."""
    return generate_latest(run_registry(run, succeeded=succeeded))


def write_textfile(run: RunResult, run_dir: Path, *, succeeded: bool) -> Path:
    """Write ``RUN_DIR/metrics.prom`` atomically (a scraper never reads half a file)."""
    path = run_dir / TEXTFILE_NAME
    write_atomically(path, exposition(run, succeeded=succeeded))
    return path
