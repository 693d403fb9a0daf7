"""The timing worker's protocol (docs/interfaces.md section 4), driven as the bench and the gate drive it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.results import Impl
from harness.worker import PROTOCOL_VERSION, WorkerClient, WorkerError

from .conftest import REPO_ROOT


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerClient]:
    client = WorkerClient(
        Path(sys.executable),
        tmp_path,
        modules={Impl.RUST: "harness.reference", Impl.PYTHON: "harness.reference"},
        cwd=REPO_ROOT,
        request_timeout_s=60,
    )
    yield client
    client.kill()


def test_hello_line(worker: WorkerClient) -> None:
    assert worker.hello["ok"] is True
    assert worker.hello["protocol"] == PROTOCOL_VERSION
    assert worker.hello["pid"] == worker.pid
    assert "sky_rs_version" in worker.hello
    assert "git_commit" in worker.hello


def test_time_noop_calibrates_then_reuses_loops(worker: WorkerClient) -> None:
    calibrated = worker.time(
        "_noop", impl=Impl.RUST, workload="call", loops=None, values=2, warmups=1, min_time_s=0.001
    )
    assert calibrated.loops >= 2, "a no-op is far below 1 ms: calibration must have doubled the loops"
    assert len(calibrated.values_ns) == 2
    assert len(calibrated.warmup_values_ns) == 1
    fixed = worker.time(
        "_noop", impl=Impl.PYTHON, workload="call", loops=3, values=1, warmups=0, min_time_s=0.001
    )
    assert fixed.loops == 3
    assert fixed.warmup_values_ns == ()


def test_errors_answer_ok_false_and_keep_the_worker(worker: WorkerClient) -> None:
    with pytest.raises(WorkerError) as unknown_function:
        worker.time("nope", impl=Impl.RUST, workload="call", loops=1, values=1, warmups=0, min_time_s=0.01)
    assert unknown_function.value.error_type == "UnknownNameError"
    with pytest.raises(WorkerError) as bad_values:
        worker.time("_noop", impl=Impl.RUST, workload="call", loops=1, values=0, warmups=0, min_time_s=0.01)
    assert bad_values.value.error_type == "RequestError"
    with pytest.raises(WorkerError, match="unknown op"):
        worker.request({"op": "dance"})
    with pytest.raises(WorkerError, match="lacks field"):
        worker.request({"op": "time", "function": "_noop"})
    assert worker.alive
    assert (
        worker.time(
            "_noop", impl=Impl.RUST, workload="call", loops=1, values=1, warmups=0, min_time_s=0.01
        ).loops
        == 1
    )


def test_parity_op(worker: WorkerClient) -> None:
    assert worker.parity("base36_encode", "md5-hex") is None


def test_raw_protocol_bad_json_and_quit(tmp_path: Path) -> None:
    requests = "not json\n" + json.dumps({"op": "quit"}) + "\n"
    completed = subprocess.run(
        [sys.executable, "-m", "harness.worker", "--scratch", str(tmp_path)],
        input=requests,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        check=False,
    )
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert completed.returncode == 0
    assert lines[0]["ok"] is True and lines[0]["protocol"] == PROTOCOL_VERSION
    assert lines[1]["ok"] is False and lines[1]["error_type"] == "JSONDecodeError"
    assert lines[2] == {"ok": True}


def test_close_stops_the_process(worker: WorkerClient) -> None:
    worker.close()
    assert not worker.alive


def test_memory_op_counts_allocations_per_call(worker: WorkerClient) -> None:
    # base36_encode builds a new string per call: it must allocate something, and the noop must not more.
    bytes_per_call, allocs_per_call = worker.memory("base36_encode", Impl.PYTHON, "md5-hex", calls=2)
    assert bytes_per_call > 0
    assert allocs_per_call >= 1
    noop_bytes, _ = worker.memory("_noop", Impl.PYTHON, "call", calls=2)
    assert noop_bytes < bytes_per_call
    with pytest.raises(WorkerError, match="calls must be >= 1"):
        worker.memory("_noop", Impl.PYTHON, "call", calls=0)


def test_overhead_times_the_empty_loop(worker: WorkerClient) -> None:
    calibrated = worker.overhead(loops=None, values=3, warmups=1, min_time_s=0.001)
    assert calibrated.loops >= 2, "an empty loop pass is far below 1 ms: calibration must have doubled"
    assert len(calibrated.values_ns) == 3 and len(calibrated.warmup_values_ns) == 1
    assert all(value > 0 for value in calibrated.values_ns)
    fixed = worker.overhead(loops=5, values=1, warmups=0, min_time_s=0.001)
    assert fixed.loops == 5
    with pytest.raises(WorkerError) as bad_values:
        worker.overhead(loops=None, values=0, warmups=0, min_time_s=0.001)
    assert bad_values.value.error_type == "RequestError"
