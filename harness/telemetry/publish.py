"""``publish RUN_DIR``: send a stored run to the servers now, and mark what got through in ``telemetry.json``.

What a sink kept in ``unsent/`` is sent as it is (exactly what the run would have sent); a sink with
nothing kept (never configured during the run) is rebuilt from ``run.json``. Sinks already delivered are
skipped unless ``force``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from harness.atomic import write_text_atomic
from harness.results import RunResult
from harness.telemetry.config import HostPort, TelemetryConfig, parse_host_port
from harness.telemetry.delivery import (
    PUSHGATEWAY,
    STATSD,
    DeliveryReport,
    SinkDelivery,
    discard_unsent,
    load_report,
    save_report,
)
from harness.telemetry.emit import deliver_pushgateway, job_for, report_failures
from harness.telemetry.pushgateway import PushgatewayError, push_payload
from harness.telemetry.statsd_sink import StatsdError, parse_payload, run_gauges, send_gauges

RUN_JSON_NAME = "run.json"


class PublishError(ValueError):
    """The run folder holds nothing that can be published to a sink (the message says what is missing)."""


def save_run(run: RunResult, run_dir: Path) -> Path:
    """Write ``run_dir/run.json``, what ``load_run`` reads back (a bench run folder, the gate's folder)."""
    path = run_dir / RUN_JSON_NAME
    return write_text_atomic(path, json.dumps(run.to_json_dict(), indent=2, sort_keys=True) + "\n")


def load_run(run_dir: Path) -> RunResult | None:
    """The run's ``run.json``, or None when the folder has none."""
    path = run_dir / RUN_JSON_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PublishError(f"{path}: not valid JSON: {error}") from error
    try:
        return RunResult.from_json_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        raise PublishError(f"{path}: not a run result: {type(error).__name__}: {error}") from error


def _target(configured: HostPort | None, stored: SinkDelivery | None, sink: str) -> HostPort | None:
    if configured is not None:
        return configured
    if stored is not None:
        return parse_host_port(stored.target, f"telemetry.json delivery record for {sink}")
    return None


def _stored_payload(run_dir: Path, stored: SinkDelivery | None) -> bytes | None:
    if stored is None or stored.unsent_path is None:
        return None
    try:
        return (run_dir / stored.unsent_path).read_bytes()
    except FileNotFoundError:
        return None


def _publish_pushgateway(
    run_dir: Path,
    run: RunResult | None,
    gateway: HostPort,
    stored: SinkDelivery | None,
    config: TelemetryConfig,
) -> SinkDelivery:
    payload = _stored_payload(run_dir, stored)
    if payload is not None and stored is not None:
        details = dict(stored.details)
        group = {key: value for key, value in details.items() if key not in {"job", "replace_group"}}
        started_wall, started = time.time(), time.monotonic()
        try:
            push_payload(
                payload,
                gateway,
                details.get("job", config.job),
                group,
                replace_group=details.get("replace_group") == "true",
                timeout_seconds=config.send_timeout_seconds,
            )
        except PushgatewayError as error:
            return replace(stored, target=str(gateway), error=str(error), attempted_at_unix_s=started_wall)
        return replace(
            stored,
            target=str(gateway),
            delivered=True,
            error="",
            attempted_at_unix_s=started_wall,
            elapsed_seconds=time.monotonic() - started,
            delivered_by="publish",
        )
    if run is None:
        raise PublishError(f"{run_dir}: no {RUN_JSON_NAME} and no unsent Pushgateway payload to publish")
    delivery = deliver_pushgateway(run, gateway, job_for(run, config.job), config.send_timeout_seconds)
    if stored is not None:
        delivery = replace(delivery, unsent_path=stored.unsent_path)
    return replace(delivery, delivered_by="publish" if delivery.delivered else "")


def _publish_statsd(
    run_dir: Path,
    run: RunResult | None,
    server: HostPort,
    stored: SinkDelivery | None,
    config: TelemetryConfig,
) -> SinkDelivery:
    payload = _stored_payload(run_dir, stored)
    if payload is not None:
        gauges = parse_payload(payload.decode("ascii"))
    elif run is not None:
        gauges = run_gauges(run, config.statsd_prefix)
    else:
        raise PublishError(f"{run_dir}: no {RUN_JSON_NAME} and no unsent StatsD payload to publish")
    started_wall, started = time.time(), time.monotonic()
    try:
        send_gauges(gauges, server, config.send_timeout_seconds)
    except StatsdError as error:
        delivered, message = False, str(error)
    else:
        delivered, message = True, ""
    return SinkDelivery(
        sink=STATSD,
        target=str(server),
        delivered=delivered,
        attempted_at_unix_s=started_wall,
        elapsed_seconds=time.monotonic() - started,
        error=message,
        unsent_path=stored.unsent_path if stored is not None else None,
        delivered_by="publish" if delivered else "",
    )


def publish(
    run_dir: Path, config: TelemetryConfig, *, force: bool = False, stderr: TextIO | None = None
) -> DeliveryReport:
    """Send a stored run to the configured (or originally targeted) servers; update ``telemetry.json``."""
    stderr = stderr or sys.stderr
    if not run_dir.is_dir():
        raise PublishError(f"{run_dir}: no such run folder")
    run = load_run(run_dir)
    report = load_report(run_dir)
    if report is None:
        if run is None:
            raise PublishError(f"{run_dir}: neither {RUN_JSON_NAME} nor telemetry.json: not a run folder")
        report = DeliveryReport(run_id=run.run_id, sinks=())
    for sink, configured in ((PUSHGATEWAY, config.pushgateway), (STATSD, config.statsd)):
        stored = report.sink(sink)
        if stored is not None and stored.delivered and not force:
            continue
        target = _target(configured, stored, sink)
        if target is None:
            continue
        if sink == PUSHGATEWAY:
            delivery = _publish_pushgateway(run_dir, run, target, stored, config)
        else:
            delivery = _publish_statsd(run_dir, run, target, stored, config)
        if delivery.delivered:
            discard_unsent(run_dir, delivery.unsent_path)
            delivery = replace(delivery, unsent_path=None)
        report = report.with_sink(delivery)
    save_report(run_dir, report)
    report_failures(report, stderr)
    return report
