"""is_process_alive on live, dead, zombie and thread pids, and against fake /proc trees (spec 2.10)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from .support import compare_call

TRUE_BINARY = "/bin/true"


def _process_state(pid: int) -> str | None:
    """The state letter from /proc/PID/stat (R, S, Z, ...), None if the pid is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


@pytest.fixture
def zombie_pid() -> Iterator[int]:
    """A child that has exited but is not reaped yet."""
    pid = os.posix_spawn(TRUE_BINARY, [TRUE_BINARY], dict(os.environ))
    try:
        deadline = time.monotonic() + 10
        while _process_state(pid) != "Z":
            if time.monotonic() > deadline:
                pytest.fail(f"child {pid} did not become a zombie")
            time.sleep(0.01)
        yield pid
    finally:
        os.waitpid(pid, 0)


@pytest.fixture
def dead_pid() -> int:
    """A pid that existed and was reaped (reuse within the test is possible but very unlikely)."""
    pid = os.posix_spawn(TRUE_BINARY, [TRUE_BINARY], dict(os.environ))
    os.waitpid(pid, 0)
    return pid


@pytest.fixture
def thread_id() -> Iterator[int]:
    """The kernel id of a live thread of this process: a tid, not a pid."""
    started = threading.Event()
    release = threading.Event()
    native_ids: list[int] = []

    def run() -> None:
        native_ids.append(threading.get_native_id())
        started.set()
        release.wait(60)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    started.wait(10)
    try:
        yield native_ids[0]
    finally:
        release.set()
        worker.join(10)


def test_zombie_counts_as_alive(impl: ModuleType, zombie_pid: int) -> None:
    assert impl.is_process_alive(zombie_pid) is True
    compare_call("is_process_alive", zombie_pid)


def test_reaped_child_is_not_alive(impl: ModuleType, dead_pid: int) -> None:
    assert impl.is_process_alive(dead_pid) is False


def test_thread_id_is_not_a_process(impl: ModuleType, thread_id: int) -> None:
    assert thread_id != os.getpid()
    assert impl.is_process_alive(thread_id) is False
    compare_call("is_process_alive", thread_id)


def test_own_and_parent_pid_are_alive(impl: ModuleType) -> None:
    assert impl.is_process_alive(os.getpid()) is True
    assert impl.is_process_alive(os.getppid()) is True


def _fake_proc(root: Path, pid: int, status: str | None, *, listed: bool = True) -> Path:
    """A fake /proc: ``status`` None leaves PID/status out; ``listed`` False leaves PID out entirely."""
    if listed:
        (root / str(pid)).mkdir(parents=True)
        if status is not None:
            (root / str(pid) / "status").write_text(status, encoding="utf-8")
    else:
        root.mkdir(parents=True)
    return root


@pytest.mark.parametrize(
    ("tgid_offset", "expected"),
    [(0, True), (1, False)],
    ids=["tgid equals pid", "tgid differs (a thread)"],
)
def test_fake_proc_tgid_decides(impl: ModuleType, tmp_path: Path, tgid_offset: int, expected: bool) -> None:
    pid = os.getpid()
    status = f"Name:\tpython\nState:\tS (sleeping)\nTgid:\t{pid + tgid_offset}\nPid:\t{pid}\n"
    proc_root = _fake_proc(tmp_path / "proc", pid, status)
    assert impl._is_process_alive_at(pid, str(proc_root)) is expected


def test_fake_proc_does_not_revive_a_dead_pid(impl: ModuleType, tmp_path: Path, dead_pid: int) -> None:
    status = f"Tgid:\t{dead_pid}\n"
    proc_root = _fake_proc(tmp_path / "proc", dead_pid, status)
    assert impl._is_process_alive_at(dead_pid, str(proc_root)) is False


@pytest.mark.parametrize(
    ("status", "listed", "expected"),
    [
        (None, True, True),  # status unreadable: psutil falls back to "pid listed in /proc"
        ("Name:\tpython\n", True, True),  # no Tgid line: the same fallback
        (None, False, False),  # not listed either
    ],
)
def test_fake_proc_without_a_usable_status(
    impl: ModuleType, tmp_path: Path, status: str | None, listed: bool, expected: bool
) -> None:
    pid = os.getpid()
    proc_root = _fake_proc(tmp_path / "proc", pid, status, listed=listed)
    assert impl._is_process_alive_at(pid, str(proc_root)) is expected
