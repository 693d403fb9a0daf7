"""Telemetry sinks of a run: Prometheus textfile (always), Pushgateway and StatsD (when configured).

Entry points for the bench: ``emit_run`` after a run (never raises for a sink that fails),
``progress_callback`` during it, ``cli.add_telemetry_arguments``/``cli.config_from_args`` for the flags, and
``cli.register`` for the ``publish RUN_DIR`` subcommand.
"""

from harness.telemetry.config import HostPort, TelemetryConfig, TelemetryConfigError, resolve_config
from harness.telemetry.delivery import DeliveryReport, SinkDelivery
from harness.telemetry.emit import emit_run, progress_callback
from harness.telemetry.publish import PublishError, publish

__all__ = [
    "DeliveryReport",
    "HostPort",
    "PublishError",
    "SinkDelivery",
    "TelemetryConfig",
    "TelemetryConfigError",
    "emit_run",
    "progress_callback",
    "publish",
    "resolve_config",
]
