"""Fleet option 3 of docs/telemetry.md: a run's metrics.prom imported into a central VictoriaMetrics.

Needs Debian's ``victoria-metrics``, which scripts/install-telemetry-deps.sh installs (``make test`` runs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.telemetry import metrics as m
from harness.telemetry.textfile import write_textfile

from .conftest import free_tcp_port
from .synthetic import FUNCTIONS, synthetic_run

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]
READY_TIMEOUT_S = 30.0
QUERY_TIMEOUT_S = 60.0


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("victoria-metrics")
    if binary is None:
        pytest.skip("victoria-metrics not installed (apt-get install victoria-metrics)")
    port = free_tcp_port()
    log = (tmp_path / "vm.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={tmp_path / 'vm-data'}",
            "-retentionPeriod=1d",
            "-search.latencyOffset=0s",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                assert process.poll() is None, (tmp_path / "vm.log").read_text()
                assert time.monotonic() < deadline, "victoria-metrics not healthy in time"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def test_textfile_imports_into_victoria_metrics(victoria_metrics: str, tmp_path: Path) -> None:
    run = synthetic_run(machine="fleet-box-1")
    textfile = write_textfile(run, tmp_path / "run", succeeded=True)
    labels = urllib.parse.urlencode([("extra_label", "machine=fleet-box-1"), ("extra_label", "suite=quick")])
    request = urllib.request.Request(
        f"{victoria_metrics}/api/v1/import/prometheus?{labels}", data=textfile.read_bytes(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
    query = f'{m.SPEEDUP}{{machine="fleet-box-1", suite="quick"}}'
    deadline = time.monotonic() + QUERY_TIMEOUT_S
    while True:
        with urllib.request.urlopen(f"{victoria_metrics}/internal/force_flush", timeout=10):
            pass
        result = get(f"{victoria_metrics}/api/v1/query?" + urllib.parse.urlencode({"query": query}))["data"][
            "result"
        ]
        if len(result) == len(FUNCTIONS):
            break
        assert time.monotonic() < deadline, f"{query}: {result}"
        time.sleep(0.5)
    by_function = {series["metric"]["function"]: float(series["value"][1]) for series in result}
    assert by_function == {pair.function: pytest.approx(pair.speedup.value, rel=1e-12) for pair in run.pairs}
