"""The StatsD sink, through the PyPI ``statsd`` client: every value is a gauge.

Why gauges in nanoseconds rather than timers: collectd, the usual StatsD server on Debian, keeps timer
values as whole milliseconds and drops those under 1 ms, which is most of our calls. A gauge is a double end
to end, so a median of 412.3 ns arrives as 412.3 (write_prometheus prints it with about 15 significant
digits). We send one summarised value per statistic, not every call, so no server-side aggregation is
needed.

Names: ``PREFIX.FUNCTION.WORKLOAD.IMPL.STAT`` (e.g. ``skybench.base36_encode.small.rust.median_ns``);
speedups ``PREFIX.FUNCTION.WORKLOAD.speedup_ratio``; what callers get through the fallback
``PREFIX.FUNCTION.WORKLOAD.production_speedup_ratio`` (and ``_ci_lower_ratio``, ``_ci_upper_ratio``) and
``PREFIX.FUNCTION.WORKLOAD.dispatch_overhead_ns``; the call floor ``PREFIX.call_floor.IMPL.median_ns``;
run values ``PREFIX.run.duration_seconds``. collectd exports them as
``collectd_statsd_gauge{statsd="<name>"}``.
"""

from __future__ import annotations

import errno
import math
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from statsd import StatsClient

from harness.results import GateComparison, GateOutcome, PairResult, RunKind, RunResult
from harness.telemetry.config import HostPort

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Keep each datagram under a typical MTU so nothing is fragmented (the statsd client's own default is 512).
MAX_DATAGRAM_BYTES = 1400


class StatsdError(RuntimeError):
    """Sending to StatsD failed (address did not resolve, socket error, or the port refused)."""


@dataclass(frozen=True)
class StatsdGauge:
    """One gauge line: ``name:value|g`` (``name`` includes the prefix)."""

    name: str
    value: float

    def line(self) -> str:
        return f"{self.name}:{self.value!r}|g"


def _component(text: str) -> str:
    """A name part with no dots or protocol characters (``:``, ``|``, ``@``) in it."""
    return _NAME_UNSAFE.sub("_", text) or "_"


def _pair_gauges(prefix: str, pair: PairResult) -> Iterable[StatsdGauge]:
    base = f"{prefix}.{_component(pair.function)}.{_component(pair.workload)}"
    for sample in (pair.rust, pair.python, pair.fallback):
        if sample is None:
            continue
        side = f"{base}.{sample.impl}"
        yield StatsdGauge(f"{side}.median_ns", sample.median_ns)
        yield StatsdGauge(f"{side}.stdev_ns", sample.stdev_ns)
        yield StatsdGauge(f"{side}.min_ns", sample.min_ns)
        yield StatsdGauge(f"{side}.max_ns", sample.max_ns)
    for memory in (pair.rust_memory, pair.python_memory, pair.fallback_memory):
        if memory is not None:
            yield StatsdGauge(f"{base}.{memory.impl}.alloc_bytes_per_call", memory.alloc_bytes_per_call)
    yield StatsdGauge(f"{base}.speedup_ratio", pair.speedup.value)
    yield StatsdGauge(f"{base}.speedup_ci_lower_ratio", pair.speedup.ci_low)
    yield StatsdGauge(f"{base}.speedup_ci_upper_ratio", pair.speedup.ci_high)
    if pair.production_speedup is not None:
        yield StatsdGauge(f"{base}.production_speedup_ratio", pair.production_speedup.value)
        yield StatsdGauge(f"{base}.production_speedup_ci_lower_ratio", pair.production_speedup.ci_low)
        yield StatsdGauge(f"{base}.production_speedup_ci_upper_ratio", pair.production_speedup.ci_high)
    if pair.dispatch_overhead is not None:
        yield StatsdGauge(f"{base}.dispatch_overhead_ns", pair.dispatch_overhead.value_ns)


def _gate_gauges(prefix: str, comparison: GateComparison) -> Iterable[StatsdGauge]:
    base = ".".join(
        (
            f"{prefix}.gate",
            _component(comparison.function),
            _component(comparison.workload),
            str(comparison.impl),
            _component(comparison.metric),
        )
    )
    yield StatsdGauge(f"{base}.change_ratio", comparison.change_ratio)
    yield StatsdGauge(f"{base}.change_ci_lower_ratio", comparison.ci_low)
    yield StatsdGauge(f"{base}.change_ci_upper_ratio", comparison.ci_high)
    yield StatsdGauge(f"{base}.regression", float(comparison.outcome == GateOutcome.REGRESSION))


def run_gauges(run: RunResult, prefix: str) -> list[StatsdGauge]:
    """Every gauge a run sends, in a stable order.

    StatsD names carry no labels, so a gate run's own duration and start time go under ``PREFIX.gate_run``,
    apart from the bench's ``PREFIX.run``.
    """
    gauges = [gauge for pair in run.pairs for gauge in _pair_gauges(prefix, pair)]
    if run.call_floor is not None:
        for sample in (run.call_floor.rust, run.call_floor.python):
            gauges.append(StatsdGauge(f"{prefix}.call_floor.{sample.impl}.median_ns", sample.median_ns))
    gauges += [gauge for comparison in run.gate for gauge in _gate_gauges(prefix, comparison)]
    scope = "run" if run.kind == RunKind.BENCH else "gate_run"
    gauges.append(StatsdGauge(f"{prefix}.{scope}.duration_seconds", run.duration_seconds))
    gauges.append(StatsdGauge(f"{prefix}.{scope}.timestamp_seconds", run.started_at_unix_s))
    return gauges


def format_payload(gauges: Iterable[StatsdGauge]) -> str:
    """The lines as StatsD receives them; also the format of ``unsent/statsd.txt``."""
    return "".join(f"{gauge.line()}\n" for gauge in gauges)


_GAUGE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # what run_gauges writes: components joined by dots


def parse_payload(text: str) -> list[StatsdGauge]:
    """Read back ``format_payload``'s output (gauges only); ValueError naming the first bad line.

    Names are held to what ``run_gauges`` writes and values to finite numbers, so a payload edited (or made)
    elsewhere cannot smuggle other StatsD lines or "nan" into the server.
    """
    gauges = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        name, colon, rest = line.partition(":")
        value, bar, kind = rest.partition("|")
        if not (colon and bar and kind == "g" and _GAUGE_NAME.match(name)):
            raise ValueError(f"statsd payload line {number}: expected NAME:VALUE|g, got {line!r}")
        try:
            number_value = float(value)
        except ValueError as error:
            raise ValueError(f"statsd payload line {number}: bad value in {line!r}") from error
        if not math.isfinite(number_value):
            raise ValueError(f"statsd payload line {number}: value must be finite, got {line!r}")
        gauges.append(StatsdGauge(name, number_value))
    return gauges


class _CheckedStatsClient(StatsClient):  # type: ignore[misc]
    """The statsd client on a *connected* UDP socket, keeping send errors instead of swallowing them.

    On a connected socket the kernel reports an ICMP "port unreachable" as ECONNREFUSED on a later send, so
    a StatsD server that is down is noticed (on the same host reliably; across a network only if ICMP comes
    back).
    """

    def __init__(self, host: str, port: int, timeout_seconds: float, *, ipv6: bool) -> None:
        super().__init__(host, port, prefix=None, maxudpsize=MAX_DATAGRAM_BYTES, ipv6=ipv6)
        self._sock.settimeout(timeout_seconds)
        self._sock.connect(self._addr)
        self.errors: list[str] = []

    def _send(self, data: str) -> None:
        try:
            self._sock.send(data.encode("ascii"))
        except OSError as error:
            self.errors.append(f"{type(error).__name__}: {error}")

    def pending_error(self) -> str | None:
        code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return f"{errno.errorcode.get(code, str(code))}: {os.strerror(code)}" if code else None


def send_gauges(gauges: list[StatsdGauge], server: HostPort, timeout_seconds: float) -> None:
    """Send gauges over UDP; raises StatsdError if the address does not resolve or the port refuses."""
    try:
        ipv6 = server.host.startswith("[")
        client = _CheckedStatsClient(server.bare_host, server.port, timeout_seconds, ipv6=ipv6)
    except (OSError, UnicodeError) as error:  # gaierror is an OSError; an over-long name is a UnicodeError
        raise StatsdError(f"statsd {server}: {type(error).__name__}: {error}") from error
    try:
        pipeline = client.pipeline()
        for gauge in gauges:
            pipeline.gauge(gauge.name, gauge.value)
        pipeline.send()
        pending = client.pending_error()
    finally:
        client.close()
    errors = [*client.errors, *([pending] if pending else [])]
    if errors:
        raise StatsdError(f"statsd {server}: {len(errors)} send error(s), first: {errors[0]}")
