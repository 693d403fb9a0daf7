"""run_bounded: the one bounded wait for a child tool; its group is killed on timeout and on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import pytest

from harness.processes import run_bounded


def test_the_output_and_exit_code_come_back() -> None:
    completed = run_bounded([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], timeout_s=60)
    assert (completed.returncode, completed.stdout) == (3, "out\n")


def test_ctrl_c_during_the_wait_kills_the_child_too(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[str]] = []
    communicate = subprocess.Popen.communicate

    def pressed_once(self: subprocess.Popen[str], *args: Any, **kwargs: Any) -> Any:
        if not started:  # the first wait is where the press lands; the cleanup's wait runs for real
            started.append(self)
            raise KeyboardInterrupt
        return communicate(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "communicate", pressed_once)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_bounded(["sleep", "600"], timeout_s=600)
        assert started[0].poll() == -signal.SIGKILL, "the child of its own session ran on after Ctrl-C"
    finally:
        if started and started[0].poll() is None:
            started[0].kill()
            started[0].wait()
