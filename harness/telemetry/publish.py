"""``publish RUN_DIR``: send a stored run to the servers now, and mark what got through in ``telemetry.json``.

What a sink kept in ``unsent/`` is sent as it is (exactly what the run would have sent); a sink with
nothing kept (never configured during the run) is rebuilt from ``run.json``. Sinks already delivered are
skipped unless ``force``.

A run folder may come from elsewhere, so ``publish`` trusts nothing in it beyond its results: it reads only
files inside the folder (payloads only inside ``unsent/``), checks everything before sending anything, sends
only to the servers of its own flags, environment or pyproject.toml (a destination recorded in
``telemetry.json`` is shown, never used), and deletes only payloads inside ``unsent/`` once delivered.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from harness.results import RunResult
from harness.run_json import RUN_JSON_NAME, load_run
from harness.telemetry.config import HostPort, TelemetryConfig, TelemetryConfigError, parse_host_port
from harness.telemetry.delivery import (
    DELIVERY_REPORT_NAME,
    PUSHGATEWAY,
    STATSD,
    DeliveryReport,
    SinkDelivery,
    discard_unsent,
    load_report,
    read_unsent,
    save_report,
)
from harness.telemetry.emit import deliver_pushgateway, job_for, report_failures, timed_delivery
from harness.telemetry.payloads import check_exposition, push_group, statsd_gauges
from harness.telemetry.pushgateway import push_payload
from harness.telemetry.statsd_sink import StatsdGauge, run_gauges, send_gauges

FLAG_OF = {PUSHGATEWAY: "--pushgateway", STATSD: "--statsd"}


class PublishError(ValueError):
    """The run folder holds nothing that can be published to a sink (the message says what is missing)."""


@dataclass(frozen=True)
class _Pending:
    """One sink ``publish`` will send to, with the kept payload it checked (None: rebuild from run.json)."""

    sink: str
    target: HostPort
    stored: SinkDelivery | None
    payload: bytes | None


def _mention_recorded(stored: SinkDelivery, stderr: TextIO) -> None:
    """Say where the run meant to send, without sending there: the folder may not be the user's own."""
    try:
        recorded = str(parse_host_port(stored.target, "recorded destination"))
    except TelemetryConfigError:
        print(f"skybench publish: {stored.sink}: not sent (recorded: {stored.target!r})", file=stderr)
        return
    print(
        f"skybench publish: {stored.sink}: not sent; the recorded destination was {recorded}; "
        f"pass {FLAG_OF[stored.sink]} {recorded} to use it",
        file=stderr,
    )


def _checked_payload(run_dir: Path, stored: SinkDelivery | None, config: TelemetryConfig) -> bytes | None:
    """The kept payload of a sink, read from inside ``unsent/`` and checked as what the run would send."""
    if stored is None or stored.unsent_path is None:
        return None
    payload = read_unsent(run_dir, stored.unsent_path)
    if payload is None:
        return None
    path = run_dir / stored.unsent_path
    if stored.sink == PUSHGATEWAY:
        push_group(stored.details, config.job, run_dir / DELIVERY_REPORT_NAME)
        return check_exposition(payload, path)
    statsd_gauges(payload, path)
    return payload


def _plan(
    run_dir: Path, run: RunResult | None, report: DeliveryReport, config: TelemetryConfig, *, force: bool
) -> list[_Pending]:
    """What to send where; every payload is read and checked here, before anything is sent."""
    pending = []
    for sink, configured in ((PUSHGATEWAY, config.pushgateway), (STATSD, config.statsd)):
        stored = report.sink(sink)
        payload = _checked_payload(run_dir, stored, config)
        if configured is None or (stored is not None and stored.delivered and not force):
            continue
        if payload is None and run is None:
            raise PublishError(f"{run_dir}: no {RUN_JSON_NAME} and no unsent {sink} payload to publish")
        pending.append(_Pending(sink, configured, stored, payload))
    return pending


def _send_pushgateway(run: RunResult | None, pending: _Pending, config: TelemetryConfig) -> SinkDelivery:
    if pending.payload is None:
        assert run is not None  # _plan checked: no payload means run.json is there
        return deliver_pushgateway(run, pending.target, job_for(run, config.job), config.send_timeout_seconds)
    assert pending.stored is not None
    group = push_group(pending.stored.details, config.job, Path(DELIVERY_REPORT_NAME))
    payload = pending.payload

    def push() -> None:
        push_payload(
            payload,
            pending.target,
            group.job,
            group.labels,
            replace_group=group.replace_group,
            timeout_seconds=config.send_timeout_seconds,
        )

    return replace(timed_delivery(PUSHGATEWAY, str(pending.target), push), details=pending.stored.details)


def _send_statsd(run: RunResult | None, pending: _Pending, config: TelemetryConfig) -> SinkDelivery:
    gauges: list[StatsdGauge]
    if pending.payload is not None:
        gauges = statsd_gauges(pending.payload, Path(STATSD))
    else:
        assert run is not None  # _plan checked: no payload means run.json is there
        gauges = run_gauges(run, config.statsd_prefix)
    target, timeout_seconds = pending.target, config.send_timeout_seconds
    return timed_delivery(STATSD, str(target), lambda: send_gauges(gauges, target, timeout_seconds))


_SENDERS: dict[str, Callable[[RunResult | None, _Pending, TelemetryConfig], SinkDelivery]] = {
    PUSHGATEWAY: _send_pushgateway,
    STATSD: _send_statsd,
}


def publish(
    run_dir: Path, config: TelemetryConfig, *, force: bool = False, stderr: TextIO | None = None
) -> DeliveryReport:
    """Send a stored run to the configured servers; update ``telemetry.json``.

    Raises PublishError for a folder with nothing to publish and InputFileError for a file in it that is
    corrupt or points outside it; in both cases nothing has been sent.
    """
    stderr = stderr or sys.stderr
    if not run_dir.is_dir():
        raise PublishError(f"{run_dir}: no such run folder")
    run = load_run(run_dir)
    report = load_report(run_dir)
    if report is None:
        if run is None:
            raise PublishError(f"{run_dir}: neither {RUN_JSON_NAME} nor telemetry.json: not a run folder")
        report = DeliveryReport(run_id=run.run_id, sinks=())
    pending = _plan(run_dir, run, report, config, force=force)
    for stored in report.failures:
        if stored.sink in FLAG_OF and stored.sink not in {item.sink for item in pending}:
            _mention_recorded(stored, stderr)
    for item in pending:
        delivery = _SENDERS[item.sink](run, item, config)
        kept = item.stored.unsent_path if item.stored is not None else None
        if delivery.delivered:
            discard_unsent(run_dir, kept)
            delivery = replace(delivery, unsent_path=None, delivered_by="publish")
        else:
            delivery = replace(delivery, unsent_path=kept, delivered_by="")
        report = report.with_sink(delivery)
    save_report(run_dir, report)
    report_failures(report, stderr)
    return report
