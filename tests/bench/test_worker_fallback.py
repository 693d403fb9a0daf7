"""The worker's third side: ``impl: "fallback"`` times harness.functions.fallback's function."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.measure.worker import FALLBACK_SIDE
from harness.measure.worker_client import WorkerClient, WorkerError

from .conftest import REPO_ROOT


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[WorkerClient]:
    client = WorkerClient(Path(sys.executable), tmp_path, cwd=REPO_ROOT, request_timeout_s=60)
    yield client
    client.kill()


def _time(worker: WorkerClient, function: str, workload: str, impl: str) -> dict[str, object]:
    request = {
        "op": "time",
        "function": function,
        "impl": impl,
        "workload": workload,
        "loops": 2,
        "values": 2,
    }
    return worker.request(request)


def test_fallback_side_is_timed_like_the_other_two(worker: WorkerClient) -> None:
    for impl in ("rust", "python", FALLBACK_SIDE):
        response = _time(worker, "format_float", "mixed-p1", impl)
        assert response["loops"] == 2
        values = response["values_ns"]
        assert isinstance(values, list) and len(values) == 2 and all(value > 0 for value in values)


def test_fallback_side_of_a_function_with_an_adapter(worker: WorkerClient) -> None:
    """hash_file's workloads finalise the digest: the fallback's result goes through the same adapter."""
    assert _time(worker, "hash_file", "md5-4KiB", FALLBACK_SIDE)["ok"] is True


def test_unknown_sides_and_functions_are_request_errors(worker: WorkerClient) -> None:
    with pytest.raises(WorkerError) as unknown_side:
        _time(worker, "format_float", "mixed-p1", "fallback-ish")
    assert unknown_side.value.error_type == "RequestError"
    with pytest.raises(WorkerError) as unknown_function:
        _time(worker, "nope", "call", FALLBACK_SIDE)
    assert unknown_function.value.error_type == "UnknownNameError"
    # The worker is still usable.
    assert _time(worker, "base36_encode", "md5-hex", FALLBACK_SIDE)["ok"] is True
