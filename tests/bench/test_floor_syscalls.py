"""Each floor is honest: no more system calls than the Rust port makes, no fewer than the semantics need.

strace counts the system calls of one pass over a workload, between two marker writes to fd -1, in the floor
bench (``SKYBENCH_FLOOR_ONCE``) and in a Python process calling ``sky_rs``; each side makes one warm-up pass
first. ``MINIMUM_SYSCALLS`` is the documented minimum of each function (docs/floors.md). strace comes from
``make test-deps``; without it (or without cargo) the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.functions.pairs.workload_types import Workload
from harness.functions.registry import all_workloads
from harness.measure.floors import INPUTS_ENV, ONCE_ENV, FloorError, build_floor_binary, prepared_inputs

# One worker builds the floor bench and runs these when the suite runs in parallel (a second would wait on
# cargo's lock of the same target folder).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("floor-bench")]

REPO_ROOT = Path(__file__).resolve().parents[2]
START_MARKER = "skybench-floor-start"
END_MARKER = "skybench-floor-end"

# The system calls a function's semantics need on the workload (one pass over its batch), by name.
MINIMUM_SYSCALLS: dict[tuple[str, str], Counter[str]] = {
    ("read_last_n_lines", "1MB-n10"): Counter(openat=1, pread64=1),
    ("read_last_n_lines", "1MB-n1000"): Counter(openat=1, pread64=1),
    ("hash_file", "md5-4KiB"): Counter(openat=1, read=2),  # the bytes, then the end of the file
    ("hash_file", "sha256-1MiB"): Counter(openat=1, read=2),
    ("find_free_port", "occupied-10"): Counter(socket=11, bind=11),  # ten taken ports, then the free one
    ("estimate_fd_for_directory", "dir-1000"): Counter(openat=1, getdents64=2),  # entries, then the end
    # the NOFILE limit, the CPU count for the thread cap, the listing, the lookup of the cloud URL
    ("get_max_workers_for_file_mounts", "dir-10"): Counter(prlimit64=1, openat=3, read=1, getdents64=2),
    ("get_cpu_count", "host"): Counter(openat=2, read=2, sched_getaffinity=1),  # online CPUs, a cgroup file
    ("get_mem_size_gb", "host"): Counter(openat=2, read=2),  # /proc/meminfo's head, the cgroup limit
    ("get_parallel_threads", "default"): Counter(openat=1, read=1),
    ("get_parallel_threads", "kubernetes"): Counter(openat=1, read=1),
    ("is_process_alive", "dead-pid"): Counter(kill=1),
    ("is_process_alive", "own-pid"): Counter(kill=1, openat=1, read=1),  # and the status file: not a thread
    ("is_process_alive", "pid-1"): Counter(kill=1, openat=1, read=1),
    ("base36_encode", "md5-hex"): Counter(),
    ("format_float", "mixed-p1"): Counter(),
    ("format_float", "ints-p1"): Counter(),
    ("format_float", "whole-p0"): Counter(),
    ("truncate_long_string", "commands-25"): Counter(),
}

# One pass of the workload through sky_rs, as the timing worker calls it (adapter included).
_RUST_SIDE = """
import os, sys
from pathlib import Path
import sky_rs
from harness.functions.pairs.workload_types import prepare
from harness.functions.registry import all_workloads
function, workload_id, scratch = sys.argv[1], sys.argv[2], Path(sys.argv[3])
workload = next(w for w in all_workloads() if (w.function, w.id) == (function, workload_id))
prepared = prepare(workload, scratch, 0)
call = getattr(sky_rs, function)
if prepared.adapter is not None:
    call = prepared.adapter(call)
batch = prepared.batch
def one_pass():
    for args in batch:
        call(*args)
one_pass()
def marker(text):
    try:
        os.write(-1, text)
    except OSError:
        pass
marker(b"skybench-floor-start")
one_pass()
marker(b"skybench-floor-end")
prepared.close()
"""

_SYSCALL_NAME = re.compile(r"^(?:\d+\s+)?([a-z_0-9]+)\(")


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test)")
    pytest.skip(reason)


def counted_syscalls(trace: str) -> Counter[str]:
    """System calls by name between the two marker writes of an strace log."""
    counts: Counter[str] = Counter()
    inside = False
    for line in trace.splitlines():
        if START_MARKER in line:
            inside = True
        elif END_MARKER in line:
            return counts
        elif inside and (match := _SYSCALL_NAME.match(line)):
            counts[match.group(1)] += 1
    raise AssertionError(f"the trace has no complete marker pair ({len(trace)} characters)")


def _trace(command: list[str], env: dict[str, str], log: Path) -> Counter[str]:
    strace = shutil.which("strace")
    assert strace is not None
    completed = subprocess.run(
        [strace, "-qq", "-o", str(log), *command],
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return counted_syscalls(log.read_text(encoding="utf-8", errors="replace"))


def test_counted_syscalls_reads_between_the_markers() -> None:
    trace = (
        'openat(AT_FDCWD, "/x", O_RDONLY) = 3\n'
        'write(-1, "skybench-floor-start", 20) = -1 EBADF (Bad file descriptor)\n'
        "kill(12, 0)                             = 0\n"
        'openat(AT_FDCWD, "/proc/12/status", O_RDONLY|O_CLOEXEC) = 3\n'
        "close(3)                                = 0\n"
        'write(-1, "skybench-floor-end", 18) = -1 EBADF (Bad file descriptor)\n'
        "exit_group(0)                           = ?\n"
    )
    assert counted_syscalls(trace) == Counter(kill=1, openat=1, close=1)


@pytest.fixture(scope="module")
def floor_binary() -> Path:
    if shutil.which("strace") is None:
        _missing("strace is not installed (make test-deps)")
    if shutil.which("cargo") is None:
        _missing("cargo is not on PATH: the floor bench cannot be built")
    try:
        return build_floor_binary()
    except FloorError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def floor_inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    scratch = tmp_path_factory.mktemp("scratch")
    workloads: list[Workload] = [w for w in all_workloads() if (w.function, w.id) in MINIMUM_SYSCALLS]
    with prepared_inputs(workloads, scratch, 0) as directory:
        yield scratch, directory


@pytest.mark.parametrize(("function", "workload_id"), sorted(MINIMUM_SYSCALLS))
def test_floor_makes_no_more_syscalls_than_rust_and_no_fewer_than_needed(
    function: str,
    workload_id: str,
    floor_binary: Path,
    floor_inputs: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    scratch, inputs = floor_inputs
    floor_env = {INPUTS_ENV: str(inputs), ONCE_ENV: f"{function}/{workload_id}"}
    floor = _trace([str(floor_binary)], floor_env, tmp_path / "floor.strace")
    rust_command = [sys.executable, "-c", _RUST_SIDE, function, workload_id, str(scratch)]
    rust = _trace(rust_command, {}, tmp_path / "rust.strace")
    minimum = MINIMUM_SYSCALLS[(function, workload_id)]
    short = {name: (floor[name], needed) for name, needed in minimum.items() if floor[name] < needed}
    assert not short, f"the floor makes fewer calls than the semantics need: {short}; floor {dict(floor)}"
    assert floor.total() <= rust.total(), f"floor {dict(floor)} > Rust {dict(rust)}"
