"""Running a child process with a bound on its time: the one way the harness waits for a tool it calls."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path


def run_bounded(
    command: list[str],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs ``command`` in its own process group and kills the whole group on timeout, so a child that
    keeps the output pipes open (a hook, a credential helper) cannot make the wait hang.

    Raises ``subprocess.TimeoutExpired`` or ``OSError``; callers turn them into a GateToolError or BuildError.
    """
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(environment) if environment is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
