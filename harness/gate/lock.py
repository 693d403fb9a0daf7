"""One gate at a time per gate folder: worktrees, venvs and the cargo target dir are shared state.

The lock is ``fcntl.flock`` on ``<gate dir>/lock``; the file records the holder's pid and command for the
message a waiting gate prints. The kernel drops the lock when its holder dies, however it dies, so a dead
holder's lock is taken over by construction (the recorded pid is only a description).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.gate.outcome import GateToolError

LOCK_NAME = "lock"
DEFAULT_LOCK_WAIT_S = 300.0
_POLL_S = 0.2


def _holder(path: Path) -> str:
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {int(recorded['pid'])} ({recorded['command']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not yet recorded itself"


def _record_holder(descriptor: int) -> None:
    record = json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv)}).encode()
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, record, 0)


@contextmanager
def gate_dir_lock(
    gate_dir: Path, *, wait_s: float = DEFAULT_LOCK_WAIT_S, progress: Callable[[str], None] = lambda m: None
) -> Iterator[None]:
    """Holds the gate folder's lock for the ``with`` block; waits up to ``wait_s`` for another gate, then
    raises GateToolError naming the holder."""
    path = gate_dir / LOCK_NAME
    try:
        gate_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise GateToolError(f"cannot open the gate lock {path}: {error}") from error
    try:
        deadline = time.monotonic() + wait_s
        waiting = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise GateToolError(
                        f"another gate holds {path}: {_holder(path)}; waited {wait_s:g} s (--lock-timeout)"
                    ) from None
                if not waiting:
                    progress(f"waiting up to {wait_s:g} s for {path}, held by {_holder(path)}")
                    waiting = True
                time.sleep(_POLL_S)
        _record_holder(descriptor)
        yield
    finally:
        os.close(descriptor)  # releases the lock
