"""Behaviour of the reference that a comparison with Rust cannot show: side effects and python -O."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from harness.functions.reference import process_utils


def test_low_descriptor_limit_warning_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(process_utils, "_low_fd_limit_warned", False)
    with caplog.at_level(logging.WARNING, logger=process_utils.__name__):
        for _ in range(3):
            assert process_utils._get_max_workers_for_file_mounts_with({}, None, 512, 8) == 7
    warnings = [record for record in caplog.records if "descriptor limit (512) is low" in record.getMessage()]
    assert len(warnings) == 1


def test_no_warning_for_a_high_or_unlimited_limit(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(process_utils, "_low_fd_limit_warned", False)
    with caplog.at_level(logging.WARNING, logger=process_utils.__name__):
        process_utils._get_max_workers_for_file_mounts_with({}, None, 1024, 8)
        process_utils._get_max_workers_for_file_mounts_with({}, None, process_utils.RLIM_INFINITY, 8)
    assert caplog.records == []


def test_preconditions_survive_python_dash_o(tmp_path: Path) -> None:
    """Decision 3: the AssertionErrors are raised explicitly, so -O does not strip them."""
    path = tmp_path / "log.txt"
    path.write_bytes(b"a\n")
    script = (
        "from harness.functions.reference import read_last_n_lines\n"
        f"for args in [({str(path)!r}, -1), ({str(path)!r}, 1, 0), ({str(tmp_path / 'missing')!r}, 1)]:\n"
        "    try:\n"
        "        read_last_n_lines(*args)\n"
        "    except AssertionError as e:\n"
        "        print(e)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-O", "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.splitlines() == [
        "n must be non-negative. Got -1",
        "chunk_size must be positive. Got 0",
        f"File not found: {tmp_path / 'missing'}",
    ]


def test_public_functions_use_the_host() -> None:
    import os  # noqa: PLC0415

    assert process_utils.get_parallel_threads() == max(4, (os.cpu_count() or 1) - 1)
    assert process_utils.is_process_alive(os.getpid()) is True
