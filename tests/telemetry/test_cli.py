"""The telemetry command line: flags reach the config, publish's exit codes say what happened."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harness.commands.arguments import add_telemetry_arguments
from harness.commands.arguments import telemetry_config as config_from_args
from harness.commands.errors import EXIT_OK, EXIT_USAGE
from harness.commands.publish import EXIT_NOT_DELIVERED, main
from harness.telemetry.config import HostPort

from .fakes import recording_gateway, refused_tcp_port
from .synthetic import synthetic_run


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_telemetry_arguments(parser)
    return parser.parse_args(argv)


def test_flags_reach_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYBENCH_STATSD", "env-host:8125")
    config = config_from_args(
        parse("--pushgateway", "gw:9091", "--statsd-prefix", "p", "--telemetry-timeout", "1.5")
    )
    assert config.pushgateway == HostPort("gw", 9091)
    assert config.statsd == HostPort("env-host", 8125)
    assert (config.statsd_prefix, config.send_timeout_seconds) == ("p", 1.5)


def test_no_push_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYBENCH_PUSHGATEWAY", "gw:9091")
    config = config_from_args(parse("--no-push"))
    assert config.pushgateway is None and config.statsd is None


def make_run_dir(tmp_path: Path) -> Path:
    (tmp_path / "run.json").write_text(json.dumps(synthetic_run().to_json_dict()))
    return tmp_path


def test_publish_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run_dir(tmp_path)
    assert main(["publish", str(tmp_path / "missing")]) == EXIT_USAGE
    assert main(["publish", str(run_dir), "--pushgateway", "not-an-address"]) == EXIT_USAGE
    refused = refused_tcp_port()
    assert main(["publish", str(run_dir), "--pushgateway", str(refused), "--telemetry-timeout", "0.5"]) == (
        EXIT_NOT_DELIVERED
    )
    with recording_gateway() as gateway:
        assert main(["publish", str(run_dir), "--pushgateway", str(gateway.address)]) == EXIT_OK
        assert len(gateway.pushes) == 1
    assert "pushgateway: delivered" in capsys.readouterr().out
