"""Running out of memory is ``MemoryError`` on both sides, never a dead process (issue 10, item 12).

Each case runs in a fresh interpreter whose address space is capped (``RLIMIT_AS``) a little above what it
already uses, then makes one call whose buffers, sized by an argument or by a (sparse) file, cannot fit. The
reference raises ``MemoryError``; sky_rs must too, where an infallible Rust allocation would abort (SIGABRT).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GIB = 1 << 30
MIB = 1 << 20

# The child: argv = module, case, headroom bytes, scratch folder. Everything it needs is imported and built
# before the cap, so only the call itself can run out.
_CHILD = r"""
import importlib, os, resource, sys
module = importlib.import_module(sys.argv[1])
case, headroom, scratch = sys.argv[2], int(sys.argv[3]), sys.argv[4]
big_text = "f" * (256 << 20) if case == "base36-huge-hex" else ""
if case == "status-line-beyond-memory":
    # This pid's status in a fake /proc: one line of 1 GiB (a sparse file of zeros).
    os.makedirs(f"{scratch}/proc/{os.getpid()}", exist_ok=True)
    with open(f"{scratch}/proc/{os.getpid()}/status", "wb") as status_file:
        status_file.truncate(1 << 30)
calls = {
    "chunk-size-beyond-memory": lambda: module.read_last_n_lines(f"{scratch}/sparse-8g", 1, 2**33),
    "tail-beyond-memory": lambda: module.read_last_n_lines(f"{scratch}/sparse-1g", 1),
    "base36-huge-hex": lambda: module.base36_encode(big_text),
    "precision-beyond-memory": lambda: module.format_float(0.5, 10**9),
    "cgroup-file-beyond-memory": lambda: module._get_cpu_count_at(f"{scratch}/cgroup", {}, 4, None),
    "status-line-beyond-memory": lambda: module._is_process_alive_at(os.getpid(), f"{scratch}/proc"),
}
call = calls[case]
with open("/proc/self/status") as status:
    size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (size_kb * 1024 + headroom, resource.RLIM_INFINITY))
try:
    call()
    outcome = "returned"
except MemoryError:
    outcome = "MemoryError"
except BaseException as error:
    outcome = type(error).__name__
sys.stdout.write(outcome + "\n")
"""

# case -> headroom above the child's current address space.
CASES = {
    "chunk-size-beyond-memory": 256 * MIB,
    "tail-beyond-memory": 128 * MIB,
    "base36-huge-hex": 64 * MIB,
    "precision-beyond-memory": 64 * MIB,
    "cgroup-file-beyond-memory": 128 * MIB,
    "status-line-beyond-memory": 128 * MIB,
}


def _sparse(path: Path, size_bytes: int) -> None:
    """A file of ``size_bytes`` zero bytes (no newline) that takes no disk space."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size_bytes)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("memory-limits")
    _sparse(root / "sparse-8g", 8 * GIB)
    _sparse(root / "sparse-1g", GIB)
    # A v2 cgroup tree whose cpu.max is 1 GiB.
    (root / "cgroup").mkdir()
    (root / "cgroup" / "cgroup.controllers").write_text("cpu memory\n")
    _sparse(root / "cgroup" / "cpu.max", GIB)
    return root


def _outcome(module: str, case: str, scratch: Path) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, module, case, str(CASES[case]), str(scratch)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # A negative return code is death by a signal: SIGABRT from an infallible Rust allocation.
    assert completed.returncode == 0, (
        f"{module} {case}: exit {completed.returncode}: {completed.stderr[-800:]}"
    )
    return completed.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("module", ["harness.functions.reference", "sky_rs"])
def test_running_out_of_memory_is_memory_error(module: str, case: str, scratch: Path) -> None:
    assert _outcome(module, case, scratch) == "MemoryError"


def test_the_cap_leaves_ordinary_calls_working(scratch: Path) -> None:
    """The cap is not what fails the calls above: under it, a call that fits returns."""
    script = _CHILD.replace(
        '"precision-beyond-memory": lambda: module.format_float(0.5, 10**9)',
        '"precision-beyond-memory": lambda: module.format_float(0.5, 10**3)',
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, "sky_rs", "precision-beyond-memory", str(64 * MIB), str(scratch)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (completed.returncode, completed.stdout.strip()) == (0, "returned"), completed.stderr
