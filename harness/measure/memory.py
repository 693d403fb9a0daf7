"""Memory cost of one call: bytes and allocations at the C allocator, and peak resident memory.

tracemalloc sees only Python's allocators, so memory a Rust extension takes with ``malloc`` would be
invisible. memray intercepts the C allocator itself (by patching the allocation symbols of every loaded
shared library, ``sky_rs`` included) and, with ``trace_python_allocators=True``, pymalloc too, so both
sides of a pair are counted the same way.

memray tracks Python stacks through a profile hook, and on CPython 3.11 a profile hook makes the interpreter
materialise a frame object for every Python function call: one pymalloc allocation per call that would not
happen without the tracker. Left in, it would charge the Python side for every function it calls and the Rust
side for none. ``measure_allocations`` therefore counts the Python frames one call creates (with
``sys.setprofile``, untracked) and subtracts their exact sizes (``sys.getsizeof``).

Peak resident memory is measured in a fresh process (``python -m harness.measure.memory peak-rss ...``) so
what
earlier workloads left in the heap does not hide the peak of this one. The code pages a first call faults in
(the machine code of the extension module and the libraries it calls, which the interpreter's own code has
long had resident) are left out: they are the size of the code, not memory the call uses, and would charge
the Rust side about 100-250 KiB that the Python side never shows.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import cast

import memray

from harness.functions.pairs.workload_types import prepare
from harness.functions.registry import DEFAULT_MODULES, find_workload, resolve_side
from harness.results import Impl

# Allocations made through Python's object/mem allocators (pymalloc, and its fallback for large blocks).
_PYTHON_ALLOCATORS = frozenset(
    {
        memray.AllocatorType.PYMALLOC_MALLOC,
        memray.AllocatorType.PYMALLOC_CALLOC,
        memray.AllocatorType.PYMALLOC_REALLOC,
    }
)
# Allocations made by C code calling the C allocator directly: Rust's System allocator, OpenSSL, sqlite...
# mmap/munmap are left out on purpose: pymalloc takes its arenas with mmap, so counting them would count the
# objects inside twice, and a file mapping is not heap memory.
_NATIVE_ALLOCATORS = frozenset(
    {
        memray.AllocatorType.MALLOC,
        memray.AllocatorType.CALLOC,
        memray.AllocatorType.REALLOC,
        memray.AllocatorType.POSIX_MEMALIGN,
        memray.AllocatorType.ALIGNED_ALLOC,
        memray.AllocatorType.MEMALIGN,
        memray.AllocatorType.VALLOC,
        memray.AllocatorType.PVALLOC,
    }
)

PEAK_RSS_CALLS = 3  # measured calls of the workload in the fresh process (after one unmeasured)
_PEAK_RSS_TIMEOUT_S = 900.0


class MemoryMeasurementError(RuntimeError):
    """A memory measurement could not be made (the child process failed, or no capture was written)."""


@dataclass(frozen=True)
class AllocationTally:
    """Allocations seen while a loop ran, split by who asked for them."""

    python_bytes: int
    python_allocations: int
    native_bytes: int
    native_allocations: int

    @property
    def total_bytes(self) -> int:
        return self.python_bytes + self.native_bytes

    @property
    def total_allocations(self) -> int:
        return self.python_allocations + self.native_allocations


@dataclass(frozen=True)
class FrameArtefact:
    """The frame objects one call makes the tracker materialise: what to subtract per call."""

    frames: int
    bytes: int


def _noop() -> None:
    """The empty loop's body: what calling anything from the loop costs before the call does any work."""


_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def frame_artefact(call: Callable[[], object]) -> FrameArtefact:
    """Count the Python frames ``call`` runs and their frame objects' sizes, under ``sys.setprofile``.

    A generator or coroutine frame is counted once however often it is resumed: its frame object is made
    once. The call runs once, untracked; it must do the same work as each tracked call (warm it up first).
    """
    frames = 0
    frame_bytes = 0
    resumable_frames: list[FrameType] = []  # kept alive so their ids are not reused during the call

    def profile(frame: FrameType, event: str, _argument: object) -> None:
        nonlocal frames, frame_bytes
        if event != "call":
            return
        if frame.f_code.co_flags & _GENERATOR_FLAGS:
            if any(seen is frame for seen in resumable_frames):
                return
            resumable_frames.append(frame)
        frames += 1
        frame_bytes += sys.getsizeof(frame)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(previous)
    # The profile function's own frame on the way out of setprofile is not one of the call's.
    return FrameArtefact(frames, frame_bytes)


def tally_allocations(call: Callable[[], object], calls: int) -> AllocationTally:
    """Run ``call`` ``calls`` times under memray and add up every allocation made meanwhile.

    The loop uses ``itertools.repeat`` so the loop itself creates no int objects; what it still costs (the
    tracker's own bookkeeping per Python call) is removed by subtracting an empty loop, see
    ``measure_allocations``.
    """
    if calls < 1:
        raise ValueError(f"calls must be >= 1, got {calls}")
    with tempfile.TemporaryDirectory(prefix="skybench-memray-") as capture_dir:
        capture_file = Path(capture_dir) / "capture.bin"
        with memray.Tracker(capture_file, native_traces=False, trace_python_allocators=True):
            for _ in itertools.repeat(None, calls):
                call()
        if not capture_file.exists():
            raise MemoryMeasurementError(f"memray wrote no capture file at {capture_file}")
        reader = memray.FileReader(capture_file)
        try:
            return _tally_records(reader.get_allocation_records())
        finally:
            reader.close()


def _tally_records(records: object) -> AllocationTally:
    python_bytes = python_allocations = native_bytes = native_allocations = 0
    for record in cast(Sequence[object], records):
        allocator = memray.AllocatorType(record.allocator)  # type: ignore[attr-defined]
        size = int(record.size)  # type: ignore[attr-defined]
        count = int(record.n_allocations)  # type: ignore[attr-defined]
        if allocator in _PYTHON_ALLOCATORS:
            python_bytes += size
            python_allocations += count
        elif allocator in _NATIVE_ALLOCATORS:
            native_bytes += size
            native_allocations += count
    return AllocationTally(python_bytes, python_allocations, native_bytes, native_allocations)


# memray counts the whole process: a one-off allocation elsewhere (another thread, a lazily grown table such
# as the interned strings) lands in one tally, a cost of the call in every tally. Seen once in CI: +18 KB in
# one tally of a call that allocates nothing.
ALLOCATION_TALLIES = 2


def _least_of_tallies(call: Callable[[], object], calls: int) -> AllocationTally:
    """The tally with the fewest bytes of ``ALLOCATION_TALLIES`` runs of ``calls`` calls each."""
    tallies = [tally_allocations(call, calls) for _ in range(ALLOCATION_TALLIES)]
    return min(tallies, key=lambda tally: (tally.total_bytes, tally.total_allocations))


def measure_allocations(call: Callable[[], object], calls: int) -> tuple[float, float]:
    """Bytes allocated per call and allocations per call, Rust's and C's included.

    ``call`` runs once untracked first, so one-off lazy initialisation (caches, imports) is not charged
    to every call, then once more to count the frame objects the tracker will add (module docstring).
    Those frame objects are subtracted, and so is what remains of an empty loop of the same length (the
    tracker's start-up); results are clamped at zero. Each loop is tallied ``ALLOCATION_TALLIES`` times
    and the least kept, so an allocation that happens once in the process is not charged to the call.
    """
    if calls < 1:
        raise ValueError(f"calls must be >= 1, got {calls}")
    call()
    artefact = frame_artefact(call)
    measured = _least_of_tallies(call, calls)
    empty_artefact = frame_artefact(_noop)
    empty_loop = _least_of_tallies(_noop, calls)
    work_bytes = measured.total_bytes - calls * artefact.bytes
    work_allocations = measured.total_allocations - calls * artefact.frames
    empty_bytes = empty_loop.total_bytes - calls * empty_artefact.bytes
    empty_allocations = empty_loop.total_allocations - calls * empty_artefact.frames
    bytes_per_call = max(0, work_bytes - max(0, empty_bytes)) / calls
    allocations_per_call = max(0, work_allocations - max(0, empty_allocations)) / calls
    return bytes_per_call, allocations_per_call


# --- peak resident memory, in a fresh process -------------------------------------------------------------


def build_workload_call(
    function: str, impl: Impl, workload: str, scratch: Path, *, seed: int, module: str | None = None
) -> tuple[Callable[[], object], Callable[[], None]]:
    """One pass over the workload's batch as a zero-argument call, built as the timing worker builds it.

    ``module`` replaces the side's default module (``sky_rs`` / ``harness.functions.reference``). Returns the
    call and
    a ``close`` that releases what the workload holds (sockets).
    """
    modules = {**DEFAULT_MODULES, impl: module} if module else DEFAULT_MODULES
    prepared = prepare(find_workload(function, workload), scratch, seed)
    target = resolve_side(function, impl, modules)
    if prepared.adapter is not None:
        target = prepared.adapter(target)
    batch = prepared.batch

    def one_pass() -> None:
        for args in batch:
            target(*args)

    return one_pass, prepared.close


def measure_peak_rss(
    python: Path,
    function: str,
    impl: Impl,
    workload: str,
    scratch: Path,
    *,
    seed: int = 0,
    cwd: Path | None = None,
    module: str | None = None,
) -> int:
    """Growth of the resident set (bytes) while a fresh ``python`` process runs the workload's call.

    The child builds the call (generating workload data if needed, with the bench's ``seed``), runs one
    pass over the workload's batch unmeasured (``peak_rss_growth``), then resets its high-water mark, runs
    ``PEAK_RSS_CALLS`` more passes and reports how far the peak rose above the resident set it had before
    them. ``cwd`` is the child's working folder
    (the tree whose ``harness`` it should import, for the gate); ``module`` overrides the side's module as
    the bench's ``--rust-module`` / ``--python-module`` do.
    """
    command = [
        str(python),
        "-m",
        "harness.measure.memory",
        "peak-rss",
        "--function",
        function,
        "--impl",
        str(impl),
        "--workload",
        workload,
        "--scratch",
        str(scratch),
        "--seed",
        str(seed),
        *(["--module", module] if module else []),
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=_PEAK_RSS_TIMEOUT_S, check=False, cwd=cwd
        )
    except subprocess.TimeoutExpired as error:
        raise MemoryMeasurementError(
            f"peak RSS of {function}/{impl}/{workload} took over {_PEAK_RSS_TIMEOUT_S:.0f} s"
        ) from error
    if completed.returncode != 0:
        stderr_tail = completed.stderr.strip().splitlines()[-5:]
        raise MemoryMeasurementError(
            f"peak RSS of {function}/{impl}/{workload} failed (exit {completed.returncode}): "
            + " | ".join(stderr_tail)
        )
    try:
        return int(json.loads(completed.stdout.strip().splitlines()[-1])["peak_rss_growth_bytes"])
    except (IndexError, KeyError, ValueError) as error:
        raise MemoryMeasurementError(f"peak RSS child printed no result: {completed.stdout!r}") from error


def _status_bytes(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM) in bytes, or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _code_rss_bytes() -> int:
    """Resident bytes of this process's executable mappings (machine code), from /proc/self/smaps; 0 off
    Linux. Data files mapped for reading are not executable, so they still count as memory."""
    try:
        smaps = Path("/proc/self/smaps").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    total_bytes = 0
    executable = False
    for line in smaps.splitlines():
        fields = line.split()
        if len(fields) >= 5 and "-" in fields[0] and ":" not in fields[0]:  # a mapping's header line
            executable = "x" in fields[1]
        elif executable and fields and fields[0] == "Rss:":
            total_bytes += int(fields[1]) * 1024
    return total_bytes


def _reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False if the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def _peak_rss_bytes() -> int:
    peak = _status_bytes("VmHWM")
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def peak_rss_growth(call: Callable[[], object], calls: int = PEAK_RSS_CALLS) -> int:
    """How far this process's peak RSS rises above its current RSS while ``call`` runs ``calls`` times, less
    the code pages the calls faulted in (module docstring).

    ``call`` runs once first, unmeasured, as in ``measure_allocations``: a first call maps the machine code
    it runs for the first time (with the kernel's fault-around, 64-128 KiB of ``sky_rs``'s text per new
    page here: all of the Rust side's growth on hash_file 256MiB) and builds one-off lazy state. Memory
    each call takes anew (a buffer mapped afresh, a copy of the data) is still counted. Where the
    high-water mark cannot be reset, the growth is measured against the peak reached so far, which can
    only understate it.
    """
    if calls < 1:
        raise ValueError(f"calls must be >= 1, got {calls}")
    call()
    code_before_bytes = _code_rss_bytes()
    before_bytes = _status_bytes("VmRSS") if _reset_peak_rss() else None
    if before_bytes is None:
        before_bytes = _peak_rss_bytes()
    for _ in range(calls):
        call()
    peak_bytes = _peak_rss_bytes()
    code_growth_bytes = max(0, _code_rss_bytes() - code_before_bytes)
    return max(0, peak_bytes - before_bytes - code_growth_bytes)


def _parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m harness.measure.memory",
        description="Memory measurements that need a process of their own.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    peak = commands.add_parser(
        "peak-rss",
        help="run one workload's call a few times; print the peak RSS growth in bytes as JSON",
    )
    peak.add_argument("--function", required=True, help="function name, e.g. hash_file")
    peak.add_argument("--impl", required=True, choices=[str(impl) for impl in Impl], help="which side")
    peak.add_argument("--workload", required=True, help="workload id from harness.functions.registry")
    peak.add_argument("--scratch", required=True, type=Path, help="folder for generated workload data")
    peak.add_argument("--seed", type=int, default=0, help="seed of the generated workload data")
    peak.add_argument(
        "--module", help="module of this side instead of the default (sky_rs, harness.functions.reference)"
    )
    peak.add_argument("--calls", type=int, default=PEAK_RSS_CALLS, help="passes over the workload's batch")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        call, close = build_workload_call(
            arguments.function,
            Impl(arguments.impl),
            arguments.workload,
            arguments.scratch,
            seed=arguments.seed,
            module=arguments.module,
        )
    except (ValueError, ImportError, AttributeError) as error:  # unknown name, missing side
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        growth_bytes = peak_rss_growth(call, arguments.calls)
    finally:
        close()
    print(json.dumps({"peak_rss_growth_bytes": growth_bytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
