"""Send one finished run to every configured sink; never raise for a sink that is down, slow, refusing or
failing in any other way (each sink's send is its boundary: ``timed_delivery`` records any error).

Each server send is bounded by ``TelemetryConfig.send_timeout_seconds``; what could not be sent is kept in
``RUN_DIR/unsent/`` and listed in ``RUN_DIR/telemetry.json`` (and on stderr), for ``publish`` to send later.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from harness.results import RunKind, RunResult
from harness.telemetry.config import HostPort, TelemetryConfig
from harness.telemetry.delivery import (
    PUSHGATEWAY,
    STATSD,
    TEXTFILE,
    DeliveryReport,
    SinkDelivery,
    keep_unsent,
    save_report,
)
from harness.telemetry.metrics import grouping_key, machine_id
from harness.telemetry.pushgateway import PushgatewayError, PushgatewayProgress, push_run
from harness.telemetry.statsd_sink import StatsdError, format_payload, run_gauges, send_gauges
from harness.telemetry.textfile import TEXTFILE_NAME, exposition, write_textfile

PUSHGATEWAY_UNSENT = "pushgateway.prom"
STATSD_UNSENT = "statsd.txt"
GATE_JOB_SUFFIX = "-gate"


def job_for(run: RunResult, job: str) -> str:
    """The Pushgateway job of a run: a gate run has its own (``skybench-gate``).

    A push replaces its whole group (job, suite, machine); in the bench's group a gate push would delete the
    bench's series, and the next bench run the gate's.
    """
    return f"{job}{GATE_JOB_SUFFIX}" if run.kind == RunKind.GATE else job


def _describe(error: Exception) -> str:
    """A sink's own errors already say what failed; anything else also says what kind of error it was."""
    if isinstance(error, PushgatewayError | StatsdError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def timed_delivery(sink: str, target: str, action: Callable[[], None]) -> SinkDelivery:
    """Run one sink's send and record the outcome.

    This is the sink's boundary: it catches every error of its own (a refused port, but also an
    OverflowError from a socket timeout or a bug in a client library), so no sink can end a run.
    """
    started_wall, started = time.time(), time.monotonic()
    try:
        action()
    except Exception as error:
        elapsed = time.monotonic() - started
        return SinkDelivery(sink, target, False, started_wall, elapsed, error=_describe(error))
    return SinkDelivery(sink, target, True, started_wall, time.monotonic() - started, delivered_by="run")


def deliver_textfile(run: RunResult, run_dir: Path) -> SinkDelivery:
    def write() -> None:
        write_textfile(run, run_dir, succeeded=not run.interrupted)

    return timed_delivery(TEXTFILE, TEXTFILE_NAME, write)


def pushgateway_details(run: RunResult, job: str) -> dict[str, str]:
    """What ``publish`` needs to push the stored payload to the same group."""
    return {"job": job, **grouping_key(run), "replace_group": str(not run.interrupted).lower()}


def deliver_pushgateway(run: RunResult, gateway: HostPort, job: str, timeout_seconds: float) -> SinkDelivery:
    delivery = timed_delivery(PUSHGATEWAY, str(gateway), lambda: push_run(run, gateway, job, timeout_seconds))
    return replace(delivery, details=pushgateway_details(run, job))


def deliver_statsd(run: RunResult, server: HostPort, prefix: str, timeout_seconds: float) -> SinkDelivery:
    def send() -> None:
        send_gauges(run_gauges(run, prefix), server, timeout_seconds)

    return timed_delivery(STATSD, str(server), send)


def _keep_payload(run: RunResult, run_dir: Path, delivery: SinkDelivery, prefix: str) -> SinkDelivery:
    """Store the payload of a failed sink in ``unsent/``; returns the delivery with its path.

    If even that fails (a full disk), the delivery says so: the run's results are in run.json regardless,
    and ``publish`` rebuilds the payload from it.
    """
    if delivery.delivered or delivery.sink == TEXTFILE:
        return delivery
    try:
        if delivery.sink == PUSHGATEWAY:
            payload = exposition(run, succeeded=not run.interrupted)
            path = keep_unsent(run_dir, PUSHGATEWAY_UNSENT, payload)
        else:
            path = keep_unsent(run_dir, STATSD_UNSENT, format_payload(run_gauges(run, prefix)).encode())
    except Exception as error:  # the same boundary as the send's: keeping a payload never ends a run
        return replace(delivery, error=f"{delivery.error}; payload not kept: {_describe(error)}")
    return replace(delivery, unsent_path=path)


def report_failures(report: DeliveryReport, stderr: TextIO) -> None:
    for failure in report.failures:
        kept = f"; payload kept in {failure.unsent_path}" if failure.unsent_path else ""
        print(
            f"skybench: telemetry: {failure.sink} ({failure.target}) not delivered: {failure.error}{kept}",
            file=stderr,
        )


def emit_run(
    run: RunResult, run_dir: Path, config: TelemetryConfig, *, stderr: TextIO | None = None
) -> DeliveryReport:
    """Write ``metrics.prom``, push to the Pushgateway and StatsD as configured, save ``telemetry.json``.

    Never raises for a sink failure: failures are in the returned report, on stderr and in ``telemetry.json``.
    """
    stderr = stderr or sys.stderr
    run_dir.mkdir(parents=True, exist_ok=True)
    deliveries = [deliver_textfile(run, run_dir)]
    if config.pushgateway is not None:
        deliveries.append(
            deliver_pushgateway(
                run, config.pushgateway, job_for(run, config.job), config.send_timeout_seconds
            )
        )
    if config.statsd is not None:
        deliveries.append(
            deliver_statsd(run, config.statsd, config.statsd_prefix, config.send_timeout_seconds)
        )
    report = DeliveryReport(
        run_id=run.run_id,
        sinks=tuple(_keep_payload(run, run_dir, delivery, config.statsd_prefix) for delivery in deliveries),
    )
    save_report(run_dir, report)
    report_failures(report, stderr)
    return report


def progress_callback(
    config: TelemetryConfig, *, mode: str, environment: Mapping[str, str], stderr: TextIO | None = None
) -> PushgatewayProgress | None:
    """A callback ``(done, planned)`` that pushes progress gauges, or None when no Pushgateway is configured.

    ``mode`` and ``environment`` are what the run's ``RunResult`` will hold, so progress and the final push
    land in the same group.
    """
    if config.pushgateway is None:
        return None
    return PushgatewayProgress(
        config.pushgateway,
        config.job,
        {"suite": mode, "machine": machine_id(environment)},
        timeout_seconds=config.send_timeout_seconds,
        stderr=stderr,
    )
