"""The gate's verdicts as a ``RunResult`` of kind ``gate``, sent through the bench's sinks.

The gate folder then holds ``run.json``, ``metrics.prom`` and ``telemetry.json`` (and ``unsent/`` when a
server was down), so ``python -m harness publish GATE_DIR`` sends later what could not be sent, as for a bench
run. The Pushgateway group is the bench's suite and machine under job ``<job>-gate``
(``harness.telemetry.emit.job_for``): the Grafana gate panels and the ``SkybenchRegression`` alert read it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from harness.gate.outcome import GateReport
from harness.results import RunKind, RunResult
from harness.run_json import save_run
from harness.telemetry import DeliveryReport, TelemetryConfig, emit_run
from harness.telemetry.delivery import UNSENT_DIR_NAME


def gate_run(
    report: GateReport, *, suite: str, environment: Mapping[str, str], started_at_unix_s: float
) -> RunResult:
    """The gate's comparisons as a run: no pairs, ``suite`` (quick/default/full) as the mode."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started_at_unix_s))
    return RunResult(
        run_id=f"gate-{stamp}-{suite}",
        mode=suite,
        started_at_unix_s=started_at_unix_s,
        duration_seconds=report.duration_seconds,
        environment=dict(environment),
        pairs=(),
        gate=report.comparisons,
        kind=RunKind.GATE,
    )


def send_gate_run(
    run: RunResult, out_dir: Path, config: TelemetryConfig, *, stderr: TextIO | None = None
) -> DeliveryReport:
    """Write ``run.json`` into ``out_dir`` and send the run to every configured sink; never raises for a
    server that is down (what was not sent stays in ``out_dir/unsent/``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # The folder is reused by every gate run: a previous run's unsent payloads are not this run's.
    shutil.rmtree(out_dir / UNSENT_DIR_NAME, ignore_errors=True)
    save_run(run, out_dir)
    return emit_run(run, out_dir, config, stderr=stderr)
