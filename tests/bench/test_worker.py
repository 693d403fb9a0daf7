"""The timing worker's protocol (docs/interfaces.md section 4), driven as the bench and the gate drive it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest

from harness.measure.worker import PROTOCOL_VERSION
from harness.measure.worker_client import WorkerClient, WorkerError
from harness.results import Impl

from .conftest import REPO_ROOT


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerClient]:
    client = WorkerClient(
        Path(sys.executable),
        tmp_path,
        modules={Impl.RUST: "harness.functions.reference", Impl.PYTHON: "harness.functions.reference"},
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


# --- start-up: a worker is never left running, whatever ends its start -----------------------------------


def _fake_python(tmp_path: Path, hello: str) -> tuple[Path, Path]:
    """An "interpreter" that records its pid, prints ``hello`` (if any) and then hangs, ignoring Ctrl-C."""
    pid_file = tmp_path / "worker.pid"
    script = tmp_path / "fake-python"
    echo = f"echo '{hello}'\n" if hello else ""
    script.write_text(f"#!/bin/sh\ntrap '' INT\necho $$ > {pid_file}\n{echo}exec sleep 60\n")
    script.chmod(0o755)
    return script, pid_file


def _wait_for_pid(pid_file: Path) -> int:
    for _ in range(600):
        if pid_file.exists() and pid_file.read_text().strip():
            return int(pid_file.read_text())
        time.sleep(0.05)
    raise AssertionError("the fake worker never started")


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_hello_that_is_not_json_is_a_worker_error_and_the_process_is_killed(tmp_path: Path) -> None:
    script, pid_file = _fake_python(tmp_path, "not a hello")
    with pytest.raises(WorkerError, match="not JSON"):
        WorkerClient(script, tmp_path, request_timeout_s=60)
    assert _gone(_wait_for_pid(pid_file))


def test_ctrl_c_while_waiting_for_the_hello_kills_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, pid_file = _fake_python(tmp_path, "")

    def ctrl_c_during_hello(self: WorkerClient) -> dict[str, object]:
        _wait_for_pid(pid_file)
        raise KeyboardInterrupt

    monkeypatch.setattr(WorkerClient, "_read_response", ctrl_c_during_hello)
    with pytest.raises(KeyboardInterrupt):
        WorkerClient(script, tmp_path)
    assert _gone(_wait_for_pid(pid_file))


def test_the_owner_holds_the_worker_before_its_hello(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script, pid_file = _fake_python(tmp_path, "")
    owner = ExitStack()
    killed_by_owner: list[bool] = []

    def owner_cleans_up_during_hello(self: WorkerClient) -> dict[str, object]:
        pid = _wait_for_pid(pid_file)
        owner.close()  # what a Ctrl-C unwinding the bench's stack does at this moment
        killed_by_owner.append(_gone(pid))
        return {"ok": True}

    monkeypatch.setattr(WorkerClient, "_read_response", owner_cleans_up_during_hello)
    WorkerClient(script, tmp_path, owner=owner)
    assert killed_by_owner == [True]


def test_a_worker_has_its_own_process_group(worker: WorkerClient) -> None:
    # A terminal's Ctrl-C goes to the foreground group: the bench alone gets it and stops its workers.
    assert os.getpgid(worker.pid) == worker.pid != os.getpgid(0)
