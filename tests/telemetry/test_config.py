"""Telemetry settings: flag > environment > pyproject.toml, and clear errors for bad addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.telemetry.config import HostPort, TelemetryConfigError, parse_host_port, resolve_config


@pytest.fixture
def pyproject(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[tool.skybench]\npushgateway = "pyproject-host:1111"\nstatsd = "pyproject-host:2222"\n'
        'statsd_prefix = "from_pyproject"\n'
    )
    return path


def test_pyproject_is_used_when_nothing_else_is_given(pyproject: Path) -> None:
    config = resolve_config(env={}, pyproject=pyproject)
    assert config.pushgateway == HostPort("pyproject-host", 1111)
    assert config.statsd == HostPort("pyproject-host", 2222)
    assert config.statsd_prefix == "from_pyproject"


def test_environment_overrides_pyproject(pyproject: Path) -> None:
    env = {"SKYBENCH_PUSHGATEWAY": "env-host:3333", "SKYBENCH_STATSD_PREFIX": "from_env"}
    config = resolve_config(env=env, pyproject=pyproject)
    assert config.pushgateway == HostPort("env-host", 3333)
    assert config.statsd == HostPort("pyproject-host", 2222)
    assert config.statsd_prefix == "from_env"


def test_flag_overrides_environment(pyproject: Path) -> None:
    env = {"SKYBENCH_PUSHGATEWAY": "env-host:3333", "SKYBENCH_STATSD": "env-host:4444"}
    config = resolve_config(
        pushgateway_flag="flag-host:5555", statsd_prefix_flag="from_flag", env=env, pyproject=pyproject
    )
    assert config.pushgateway == HostPort("flag-host", 5555)
    assert config.statsd == HostPort("env-host", 4444)
    assert config.statsd_prefix == "from_flag"


def test_no_push_turns_every_server_off(pyproject: Path) -> None:
    config = resolve_config(no_push=True, pushgateway_flag="flag-host:5555", env={}, pyproject=pyproject)
    assert config.pushgateway is None
    assert config.statsd is None


def test_nothing_configured_means_textfile_only(tmp_path: Path) -> None:
    config = resolve_config(env={}, pyproject=tmp_path / "missing.toml")
    assert (config.pushgateway, config.statsd, config.statsd_prefix) == (None, None, "skybench")


@pytest.mark.parametrize(
    "text", ["localhost", "localhost:", ":9091", "host:port", "host:0", "host:70000", "a b:1"]
)
def test_bad_host_port_is_a_clear_error(text: str) -> None:
    with pytest.raises(TelemetryConfigError, match=r"HOST:PORT|port must be"):
        parse_host_port(text, "test")


def test_error_names_where_the_bad_value_came_from(tmp_path: Path) -> None:
    with pytest.raises(TelemetryConfigError, match="SKYBENCH_STATSD"):
        resolve_config(env={"SKYBENCH_STATSD": "nope"}, pyproject=tmp_path / "missing.toml")


def test_ipv6_host_in_brackets() -> None:
    address = parse_host_port("[::1]:9091", "test")
    assert (address.host, address.bare_host, address.port, str(address)) == (
        "[::1]",
        "::1",
        9091,
        "[::1]:9091",
    )


def test_bad_prefix_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(TelemetryConfigError, match="prefix"):
        resolve_config(statsd_prefix_flag="bad|prefix", env={}, pyproject=tmp_path / "missing.toml")


def test_project_pyproject_parses() -> None:
    config = resolve_config(env={})
    assert config.statsd_prefix == "skybench"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'[tool.skybench]\npushgatway = "h:1"\n', "unknown [tool.skybench] keys ['pushgatway']"),
        (b"tool = 1\n", "[tool] and [tool.skybench] must be tables"),
        (b"[tool]\nskybench = 2\n", "[tool] and [tool.skybench] must be tables"),
        (b"\xff\xfe[tool.skybench]\n", "cannot read as TOML"),
        (b"[tool.skybench\n", "cannot read as TOML"),
    ],
)
def test_a_bad_pyproject_is_a_config_error_naming_it(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(content)
    with pytest.raises(TelemetryConfigError) as raised:
        resolve_config(env={}, pyproject=path)
    assert str(path) in str(raised.value) and problem in str(raised.value)
