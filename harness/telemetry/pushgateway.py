"""The Pushgateway sink: one registry per run, pushed once at the end; progress gauges while it runs.

Grouping key: ``job`` / ``suite`` (the run's mode) / ``machine`` (its fingerprint). A successful run
replaces its group (HTTP PUT), so the group always shows the last complete run and stale series from an
older run vanish. An interrupted run adds (POST) without the last-success timestamp, so the previous success
time stays visible, which is what the "not reported" alert needs.
"""

from __future__ import annotations

import http.client
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Protocol, TextIO

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from harness.results import RunResult
from harness.telemetry.config import HostPort
from harness.telemetry.metrics import (
    PROGRESS_DONE,
    PROGRESS_PLANNED,
    PROGRESS_UPDATED,
    grouping_key,
    run_registry,
)

# What a failed send can raise: refused/unreachable/timeout (OSError, URLError), a garbled reply
# (HTTPException), a malformed address (ValueError).
SEND_ERRORS = (OSError, http.client.HTTPException, ValueError)


class PushgatewayError(RuntimeError):
    """The Pushgateway did not accept a push (the message says why)."""


def _gateway_url(gateway: HostPort) -> str:
    return f"http://{gateway}"


def push_run(run: RunResult, gateway: HostPort, job: str, timeout_seconds: float) -> None:
    """Push a finished run: replace its group on success, add to it when the run was interrupted."""
    succeeded = not run.interrupted
    registry = run_registry(run, succeeded=succeeded)
    send = push_to_gateway if succeeded else pushadd_to_gateway
    try:
        send(
            _gateway_url(gateway),
            job=job,
            registry=registry,
            grouping_key=grouping_key(run),
            timeout=timeout_seconds,
        )
    except SEND_ERRORS as error:
        raise PushgatewayError(f"push to {gateway} failed: {type(error).__name__}: {error}") from error


def push_payload(
    payload: bytes,
    gateway: HostPort,
    job: str,
    group: Mapping[str, str],
    *,
    replace_group: bool,
    timeout_seconds: float,
) -> None:
    """Push a stored exposition (``unsent/pushgateway.prom``) as it is: for runs whose run.json is gone."""
    path = "/".join(
        f"{urllib.parse.quote(key, safe='')}/{urllib.parse.quote(value, safe='')}"
        for key, value in {"job": job, **group}.items()
    )
    request = urllib.request.Request(
        f"{_gateway_url(gateway)}/metrics/{path}",
        data=payload,
        method="PUT" if replace_group else "POST",
        headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            status = response.status
    except SEND_ERRORS as error:
        raise PushgatewayError(f"push to {gateway} failed: {type(error).__name__}: {error}") from error
    if status >= 300:
        raise PushgatewayError(f"push to {gateway} failed: HTTP {status}")


class ProgressCallback(Protocol):
    """What the bench calls after each pair: ``done`` of ``planned`` pairs measured."""

    def __call__(self, done: int, planned: int) -> None: ...


class PushgatewayProgress:
    """Pushes progress gauges to the run's group while a long run goes on.

    At most one push per ``min_interval_seconds`` (the last step always pushes). After one failed push it
    stops trying for the rest of the run, so a dead gateway costs the run at most one timeout; the final
    push at the end of the run tries again on its own and reports the failure.
    """

    def __init__(
        self,
        gateway: HostPort,
        job: str,
        group: Mapping[str, str],
        *,
        timeout_seconds: float,
        min_interval_seconds: float = 1.0,
        stderr: TextIO | None = None,
    ) -> None:
        self._gateway = gateway
        self._job = job
        self._group = dict(group)
        self._timeout_seconds = timeout_seconds
        self._min_interval_seconds = min_interval_seconds
        self._stderr = stderr
        self._last_push_monotonic: float | None = None
        self.error: str | None = None
        self.pushes = 0
        self._registry = CollectorRegistry(auto_describe=False)
        self._done = Gauge(
            PROGRESS_DONE, "Pairs measured so far in the running bench.", registry=self._registry
        )
        self._planned = Gauge(
            PROGRESS_PLANNED, "Pairs the running bench will measure.", registry=self._registry
        )
        self._updated = Gauge(
            PROGRESS_UPDATED, "Unix time of the last progress update.", registry=self._registry
        )

    def __call__(self, done: int, planned: int) -> None:
        if self.error is not None:
            return
        now = time.monotonic()
        due = (
            self._last_push_monotonic is None or now - self._last_push_monotonic >= self._min_interval_seconds
        )
        if not (due or done >= planned):
            return
        self._last_push_monotonic = now
        try:
            self._push(done, planned)
        except Exception as error:  # the sink's boundary: a progress push never ends the run it reports on
            self.error = f"progress push to {self._gateway} failed: {type(error).__name__}: {error}"
            print(
                f"skybench: telemetry: {self.error}; no more progress pushes this run",
                file=self._stderr or sys.stderr,
            )
            return
        self.pushes += 1

    def _push(self, done: int, planned: int) -> None:
        self._done.set(done)
        self._planned.set(planned)
        self._updated.set_to_current_time()
        pushadd_to_gateway(
            _gateway_url(self._gateway),
            job=self._job,
            registry=self._registry,
            grouping_key=self._group,
            timeout=self._timeout_seconds,
        )
