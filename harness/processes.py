"""Running a child process with a bound on its time: the one way the harness waits for a tool it calls."""

from __future__ import annotations

import contextlib
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
    keeps the output pipes open (a hook, a credential helper) cannot make the wait hang. On Ctrl-C too:
    the terminal's press does not reach a group of its own, and the child must not run on unseen.

    Raises ``subprocess.TimeoutExpired``, ``OSError`` or ``KeyboardInterrupt``; callers turn the first two
    into their tool's error (GateToolError, BuildError, CriterionError, InstructionCountError).
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
        except BaseException:  # the timeout, or a KeyboardInterrupt during the wait
            with contextlib.suppress(ProcessLookupError):  # the group may have ended by itself
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
