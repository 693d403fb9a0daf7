"""``publish`` on a run folder made by someone else: it reads only inside it, sends only where told, deletes
nothing outside ``unsent/``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.inputs import InputFileError
from harness.telemetry import TelemetryConfig, emit_run, publish
from harness.telemetry.delivery import discard_unsent, load_report
from harness.telemetry.statsd_sink import format_payload, run_gauges
from harness.telemetry.textfile import exposition

from .fakes import RecordingGateway, RecordingStatsd, recording_gateway, recording_statsd, refused_tcp_port
from .synthetic import synthetic_run

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outside:
    """Files beside the run folder that a hostile telemetry.json points at; they must stay untouched."""

    prom: Path  # a valid exposition: were it read, it could be sent as it is
    statsd: Path
    contents: tuple[bytes, bytes]

    def intact(self) -> bool:
        return (self.prom.read_bytes(), self.statsd.read_bytes()) == self.contents


@pytest.fixture
def outside(tmp_path: Path) -> Outside:
    folder = tmp_path / "outside"
    folder.mkdir()
    run = synthetic_run()
    contents = (exposition(run, succeeded=True), format_payload(run_gauges(run, "skybench")).encode())
    (folder / "secret.prom").write_bytes(contents[0])
    (folder / "secret.txt").write_bytes(contents[1])
    return Outside(folder / "secret.prom", folder / "secret.txt", contents)


@pytest.fixture
def servers() -> Iterator[tuple[RecordingGateway, RecordingStatsd]]:
    with recording_gateway() as gateway, recording_statsd() as statsd:
        yield gateway, statsd


def failed_run_dir(tmp_path: Path) -> Path:
    """A run folder as a run whose two servers were down leaves it: payloads in unsent/."""
    run_dir = tmp_path / "run"
    (run_dir).mkdir()
    (run_dir / "run.json").write_text(json.dumps(synthetic_run().to_json_dict()))
    down = refused_tcp_port()
    emit_run(
        synthetic_run(),
        run_dir,
        TelemetryConfig(pushgateway=down, statsd=down, send_timeout_seconds=0.5),
        stderr=io.StringIO(),
    )
    return run_dir


def point_payloads(run_dir: Path, pushgateway: str, statsd: str, *, target: str = "") -> None:
    """Rewrite telemetry.json so the kept payloads are ``pushgateway`` and ``statsd`` (and the target)."""
    path = run_dir / "telemetry.json"
    data = json.loads(path.read_text())
    for sink in data["sinks"]:
        if sink["sink"] in {"pushgateway", "statsd"}:
            sink["unsent_path"] = pushgateway if sink["sink"] == "pushgateway" else statsd
            sink["target"] = target or sink["target"]
    path.write_text(json.dumps(data))


def hostile_paths(run_dir: Path, outside: Outside) -> dict[str, tuple[str, str]]:
    """The ways a payload path can leave the run folder, each as (pushgateway path, statsd path)."""
    (run_dir / "unsent" / "link.prom").symlink_to(outside.prom)
    (run_dir / "unsent" / "link.txt").symlink_to(outside.statsd)
    (run_dir / "unsent" / "out").symlink_to(outside.prom.parent, target_is_directory=True)
    return {
        "dot-dot": ("../outside/secret.prom", "unsent/../../outside/secret.txt"),
        "absolute": (str(outside.prom), str(outside.statsd)),
        "symlinked file": ("unsent/link.prom", "unsent/link.txt"),
        "symlinked folder": ("unsent/out/secret.prom", "unsent/out/secret.txt"),
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["dot-dot", "absolute", "symlinked file", "symlinked folder"])
def test_payload_paths_leaving_the_folder_are_refused_and_nothing_is_sent(
    tmp_path: Path, outside: Outside, servers: tuple[RecordingGateway, RecordingStatsd], kind: str
) -> None:
    gateway, statsd = servers
    run_dir = failed_run_dir(tmp_path)
    pushgateway_path, statsd_path = hostile_paths(run_dir, outside)[kind]
    point_payloads(run_dir, pushgateway_path, statsd_path)
    before = load_report(run_dir)
    config = TelemetryConfig(pushgateway=gateway.address, statsd=statsd.address)
    with pytest.raises(InputFileError, match="refusing to read it") as raised:
        publish(run_dir, config, stderr=io.StringIO())
    assert pushgateway_path in str(raised.value) or statsd_path in str(raised.value)
    assert gateway.pushes == [] and statsd.received() == []
    assert outside.intact()
    assert load_report(run_dir) == before  # nothing marked delivered


def test_the_recorded_destination_is_shown_never_used(
    tmp_path: Path, servers: tuple[RecordingGateway, RecordingStatsd]
) -> None:
    gateway, _ = servers
    run_dir = failed_run_dir(tmp_path)
    point_payloads(run_dir, "unsent/pushgateway.prom", "unsent/statsd.txt", target=str(gateway.address))
    stderr = io.StringIO()
    report = publish(run_dir, TelemetryConfig(), stderr=stderr)
    assert gateway.pushes == []
    assert not report.all_delivered
    assert (
        f"pushgateway: not sent; the recorded destination was {gateway.address}; "
        f"pass --pushgateway {gateway.address} to use it" in stderr.getvalue()
    )
    assert (run_dir / "unsent" / "pushgateway.prom").is_file()  # still there for a publish that is told where


def test_a_recorded_host_elsewhere_is_not_contacted(tmp_path: Path) -> None:
    run_dir = failed_run_dir(tmp_path)
    point_payloads(run_dir, "unsent/pushgateway.prom", "unsent/statsd.txt", target="collector.example:9091")
    before = load_report(run_dir)
    stderr = io.StringIO()
    report = publish(run_dir, TelemetryConfig(), stderr=stderr)
    assert report == before == load_report(run_dir)  # nothing attempted, nothing marked
    assert "pass --pushgateway collector.example:9091 to use it" in stderr.getvalue()
    assert "pass --statsd collector.example:9091 to use it" in stderr.getvalue()


@pytest.mark.timeout(60)
def test_told_where_it_sends_the_kept_payloads_and_removes_only_them(
    tmp_path: Path, outside: Outside, servers: tuple[RecordingGateway, RecordingStatsd]
) -> None:
    gateway, statsd = servers
    run_dir = failed_run_dir(tmp_path)
    kept = (run_dir / "unsent" / "pushgateway.prom").read_bytes()
    report = publish(
        run_dir, TelemetryConfig(pushgateway=gateway.address, statsd=statsd.address), stderr=io.StringIO()
    )
    assert report.all_delivered
    assert [push.body for push in gateway.pushes] == [kept]
    assert b"".join(statsd.received()).count(b"|g") == len(run_gauges(synthetic_run(), "skybench"))
    assert not (run_dir / "unsent").exists()
    assert sorted(path.name for path in run_dir.iterdir()) == ["metrics.prom", "run.json", "telemetry.json"]
    assert outside.intact()


def test_discard_never_deletes_outside_unsent(tmp_path: Path, outside: Outside) -> None:
    run_dir = failed_run_dir(tmp_path)
    (run_dir / "unsent" / "link.prom").symlink_to(outside.prom)
    for relative in ("../outside/secret.prom", str(outside.prom), "unsent/link.prom", "run.json"):
        with pytest.raises(InputFileError):
            discard_unsent(run_dir, relative)
    assert outside.intact() and (run_dir / "run.json").is_file()


@pytest.mark.timeout(60)
def test_a_fifo_payload_is_refused_not_waited_on(
    tmp_path: Path, servers: tuple[RecordingGateway, RecordingStatsd]
) -> None:
    gateway, _ = servers
    run_dir = failed_run_dir(tmp_path)
    (run_dir / "unsent" / "pushgateway.prom").unlink()
    os.mkfifo(run_dir / "unsent" / "pushgateway.prom")
    with pytest.raises(InputFileError, match="not a regular file"):
        publish(run_dir, TelemetryConfig(pushgateway=gateway.address), stderr=io.StringIO())
    assert gateway.pushes == []


@pytest.mark.timeout(60)
def test_run_json_symlinked_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(synthetic_run().to_json_dict()))
    (run_dir / "run.json").symlink_to(elsewhere)
    with recording_gateway() as gateway:
        with pytest.raises(InputFileError, match="outside"):
            publish(run_dir, TelemetryConfig(pushgateway=gateway.address), stderr=io.StringIO())
        assert gateway.pushes == []


@pytest.mark.timeout(60)
def test_the_command_on_a_hostile_folder_exits_2_sending_nothing(
    tmp_path: Path, outside: Outside, servers: tuple[RecordingGateway, RecordingStatsd]
) -> None:
    gateway, statsd = servers
    run_dir = failed_run_dir(tmp_path)
    point_payloads(run_dir, "../outside/secret.prom", str(outside.statsd), target=str(gateway.address))
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "publish", str(run_dir), "--pushgateway", str(gateway.address),
         "--statsd", str(statsd.address)],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=False,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "'../outside/secret.prom' goes up with '..'" in completed.stderr
    assert gateway.pushes == [] and statsd.received() == []
    assert outside.intact()
