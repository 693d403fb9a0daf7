"""Which telemetry sinks a run sends to, resolved from flags, environment and pyproject.toml.

Precedence: command-line flag > environment variable > ``[tool.skybench]`` in pyproject.toml > off.
The Prometheus textfile is always written; it needs no server.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PUSHGATEWAY = "SKYBENCH_PUSHGATEWAY"
ENV_STATSD = "SKYBENCH_STATSD"
ENV_STATSD_PREFIX = "SKYBENCH_STATSD_PREFIX"

DEFAULT_STATSD_PREFIX = "skybench"
DEFAULT_JOB = "skybench"
# Long enough for a loaded CI machine, short enough that a hung server cannot hold a run for long.
DEFAULT_SEND_TIMEOUT_SECONDS = 5.0
# Socket timeouts overflow past about 9.2e9 s; a send that may wait 10 minutes is already a hung run.
MIN_SEND_TIMEOUT_SECONDS = 0.001
MAX_SEND_TIMEOUT_SECONDS = 600.0
# What `[tool.skybench]` may hold: a misspelt key would otherwise be silently ignored.
PYPROJECT_KEYS = frozenset(
    {"pushgateway", "statsd", "statsd_prefix", "pairs"}
)  # pairs: harness.functions.registry

PROJECT_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})$")
_STATSD_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class TelemetryConfigError(ValueError):
    """A telemetry setting is malformed (the message names where it came from)."""


@dataclass(frozen=True)
class HostPort:
    """A server address as given by the user: ``host:port`` (IPv6 hosts in brackets)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def bare_host(self) -> str:
        """The host without IPv6 brackets, as socket functions want it."""
        return self.host.strip("[]")


def parse_host_port(text: str, source: str) -> HostPort:
    """Parse ``host:port``; ``source`` names where the text came from, for the error message."""
    match = _HOST_PORT.match(text.strip())
    if match is None:
        raise TelemetryConfigError(f"{source}: expected HOST:PORT (e.g. 127.0.0.1:19091), got {text!r}")
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise TelemetryConfigError(f"{source}: port must be 1-65535, got {port} in {text!r}")
    return HostPort(match["host"], port)


def check_send_timeout(seconds: float, source: str = "send timeout") -> float:
    """``seconds`` if it is a usable bound on one network send (1 ms to 10 min), else TelemetryConfigError."""
    if not MIN_SEND_TIMEOUT_SECONDS <= seconds <= MAX_SEND_TIMEOUT_SECONDS:  # False for nan
        raise TelemetryConfigError(
            f"{source} must be {MIN_SEND_TIMEOUT_SECONDS:g} to {MAX_SEND_TIMEOUT_SECONDS:g} seconds, "
            f"got {seconds!r}"
        )
    return seconds


def _check_prefix(prefix: str, source: str) -> str:
    if not _STATSD_PREFIX.match(prefix):
        raise TelemetryConfigError(
            f"{source}: StatsD prefix must start with a letter or _ and hold only letters, digits, '_', '-', "
            f"'.', got {prefix!r}"
        )
    return prefix.rstrip(".")


@dataclass(frozen=True)
class TelemetryConfig:
    """Where one run sends its metrics. ``None`` for a server means: do not send there."""

    pushgateway: HostPort | None = None
    statsd: HostPort | None = None
    statsd_prefix: str = DEFAULT_STATSD_PREFIX
    job: str = DEFAULT_JOB
    send_timeout_seconds: float = DEFAULT_SEND_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        check_send_timeout(self.send_timeout_seconds)


def read_pyproject_settings(pyproject: Path) -> dict[str, Any]:
    """The ``[tool.skybench]`` table, or an empty dict when the file or table is missing."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TelemetryConfigError(f"{pyproject}: cannot read as TOML: {error}") from error
    tool = data.get("tool", {})
    table = tool.get("skybench", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise TelemetryConfigError(f"{pyproject}: [tool] and [tool.skybench] must be tables")
    unknown = set(table) - PYPROJECT_KEYS
    if unknown:
        raise TelemetryConfigError(
            f"{pyproject}: unknown [tool.skybench] keys {sorted(unknown)}; known: {sorted(PYPROJECT_KEYS)}"
        )
    return table


def _first(
    flag: str | None, env: Mapping[str, str], env_name: str, settings: Mapping[str, Any], key: str
) -> tuple[str | None, str]:
    """The first setting given, with a description of where it came from."""
    if flag is not None:
        return flag, "command-line flag"
    if env.get(env_name):
        return env[env_name], f"environment variable {env_name}"
    value = settings.get(key)
    if value is None:
        return None, ""
    if not isinstance(value, str):
        raise TelemetryConfigError(f"pyproject.toml [tool.skybench] {key}: expected a string, got {value!r}")
    return value, f"pyproject.toml [tool.skybench] {key}"


def resolve_config(
    *,
    pushgateway_flag: str | None = None,
    statsd_flag: str | None = None,
    statsd_prefix_flag: str | None = None,
    no_push: bool = False,
    env: Mapping[str, str] | None = None,
    pyproject: Path | None = PROJECT_PYPROJECT,
    send_timeout_seconds: float = DEFAULT_SEND_TIMEOUT_SECONDS,
) -> TelemetryConfig:
    """Resolve the sinks: flag > environment > pyproject.toml. ``no_push`` turns every server off."""
    env = os.environ if env is None else env
    settings = read_pyproject_settings(pyproject) if pyproject is not None else {}
    prefix_text, prefix_source = _first(statsd_prefix_flag, env, ENV_STATSD_PREFIX, settings, "statsd_prefix")
    prefix = _check_prefix(prefix_text, prefix_source) if prefix_text is not None else DEFAULT_STATSD_PREFIX
    if no_push:
        return TelemetryConfig(statsd_prefix=prefix, send_timeout_seconds=send_timeout_seconds)
    gateway_text, gateway_source = _first(pushgateway_flag, env, ENV_PUSHGATEWAY, settings, "pushgateway")
    statsd_text, statsd_source = _first(statsd_flag, env, ENV_STATSD, settings, "statsd")
    return TelemetryConfig(
        pushgateway=parse_host_port(gateway_text, gateway_source) if gateway_text else None,
        statsd=parse_host_port(statsd_text, statsd_source) if statsd_text else None,
        statsd_prefix=prefix,
        send_timeout_seconds=send_timeout_seconds,
    )
