"""The Criterion and floor benches are built in one cargo call, and a failed build is a CriterionError."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.measure.criterion import CriterionError, build_bench_targets


def _fake_cargo(folder: Path, exit_code: int) -> Path:
    """A ``cargo`` on PATH that appends its arguments to a log and exits with ``exit_code``."""
    log = folder / "calls.log"
    script = folder / "cargo"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "error: link failed" >&2\nexit {exit_code}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def test_both_targets_are_built_in_one_cargo_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = _fake_cargo(tmp_path, 0)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    build_bench_targets(["functions", "floors"], native_dir=tmp_path)
    assert log.read_text().splitlines() == [
        "bench --no-default-features --no-run --bench functions --bench floors"
    ]


def test_a_failed_build_names_cargo_s_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_cargo(tmp_path, 101)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(CriterionError, match=r"exit 101\):\nerror: link failed"):
        build_bench_targets(["functions", "floors"], native_dir=tmp_path)
