"""The change points as Prometheus series, for the dashboards' annotations: ``history.prom`` and a push.

One gauge, ``skybench_change_point_timestamp_seconds{machine, function, impl, workload, direction, source}``,
whose value is the unix time of the first run after the step; Grafana's Prometheus annotations use the value
as the annotation's time. The push goes to its own Pushgateway job (a PUT replaces the job's group, so each
``history`` run publishes the current set of steps and a step no longer found disappears).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from harness.atomic import write_bytes_atomic
from harness.history.outputs import History
from harness.telemetry.metrics import CHANGE_POINT_TIMESTAMP

HISTORY_JOB = "skybench-history"
HISTORY_TEXTFILE = "history.prom"
LABELS = ("machine", "function", "impl", "workload", "direction", "source")


class HistoryPushError(RuntimeError):
    """The Pushgateway did not take the change points (history.prom keeps them)."""


class _ChangePoints(Collector):
    def __init__(self, history: History) -> None:
        self._history = history

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            CHANGE_POINT_TIMESTAMP,
            "Unix time of the first run after a change point found by `history` (the annotation's time).",
            labels=list(LABELS),
        )
        for step in self._history.steps:
            key = step.key
            labels = [key.machine, key.function, key.impl, key.workload, step.direction, step.source]
            family.add_metric(labels, step.at.at_unix_s)
        yield family


def _registry(history: History) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ChangePoints(history))
    return registry


def write_history_textfile(history: History, out_dir: Path) -> Path:
    path = out_dir / HISTORY_TEXTFILE
    write_bytes_atomic(path, generate_latest(_registry(history)))
    return path


def push_history(history: History, gateway: str, timeout_s: float) -> None:
    """PUT the change points to ``gateway`` (host:port) as job ``skybench-history``."""
    try:
        push_to_gateway(gateway, job=HISTORY_JOB, registry=_registry(history), timeout=timeout_s)
    except Exception as error:  # any failure of the sink is reported in one line, never a traceback
        raise HistoryPushError(f"Pushgateway {gateway}: {type(error).__name__}: {error}") from error
