"""The live telemetry stack for tests marked ``servers``.

Started once per session by scripts/telemetry.sh into a temporary state folder on free ports, and stopped at
the end even when a test fails.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.telemetry.config import HostPort

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "telemetry.sh"
# Up to the first scrape after a push: the scrape interval is 1 s, Prometheus's first scrape of a new target
# can take about 5 s; generous for a loaded CI machine.
QUERY_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.2


def free_tcp_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Stack:
    state_dir: Path
    env: dict[str, str]
    prometheus_port: int
    pushgateway: HostPort
    statsd: HostPort

    def script(self, command: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), command, str(self.state_dir)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def pid(self, service: str) -> int:
        return int((self.state_dir / "pids" / f"{service}.pid").read_text())

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.prometheus_port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr}
        )
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(
        self,
        expr: str,
        done: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout_s: float = QUERY_TIMEOUT_S,
    ) -> list[dict[str, Any]]:
        """Poll a PromQL query until ``done(result)``; fail with the last result after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(expr)
            if done(result):
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"{expr!r}: not as expected within {timeout_s}s; last result: {result}")
            time.sleep(POLL_INTERVAL_S)


@pytest.fixture(scope="session")
def telemetry_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state_dir = tmp_path_factory.mktemp("telemetry-stack")
    prometheus_port, pushgateway_port, collectd_port = free_tcp_port(), free_tcp_port(), free_tcp_port()
    statsd_port = free_udp_port()
    env = {
        **os.environ,
        "SKYBENCH_PROMETHEUS_PORT": str(prometheus_port),
        "SKYBENCH_PUSHGATEWAY_PORT": str(pushgateway_port),
        "SKYBENCH_STATSD_PORT": str(statsd_port),
        "SKYBENCH_COLLECTD_PROMETHEUS_PORT": str(collectd_port),
        "SKYBENCH_TELEMETRY_READY_TIMEOUT": "90",
    }
    stack = Stack(
        state_dir,
        env,
        prometheus_port,
        HostPort("127.0.0.1", pushgateway_port),
        HostPort("127.0.0.1", statsd_port),
    )
    try:
        started = stack.script("up")
        assert started.returncode == 0, f"telemetry.sh up failed:\n{started.stdout}\n{started.stderr}"
        yield stack
    finally:
        stack.script("down", timeout_s=120)
