"""A reproducible noisy neighbour: a process the harness starts beside a measurement and always stops.

Kinds (``--neighbour`` of ``experiment`` and ``calibrate``):

* ``none``: nothing runs; the load average is still sampled, so a run without a neighbour has the same record;
* ``cpu``: ``stress-ng --cpu 1``, one core kept busy (its default method mix: integer, floating point, bits);
* ``memory``: ``stress-ng --stream 1``, one STREAM-like worker sweeping three arrays that together are twice
  the last-level cache (192 MiB to 1.5 GiB): a cyclic sweep over more than the cache misses on every line, so
  it takes memory bandwidth and evicts the measured functions' data from the shared cache;
* ``bench``: a second skybench batch, ``python -m harness bench --quick`` in a loop, into a scratch folder.

``running_neighbour(kind, scratch_dir)`` starts it in its own process group (a terminal's Ctrl-C reaches the
harness alone, which then stops it), under ``setpriv --pdeathsig KILL`` (a harness killed outright takes its
neighbour with it), and returns only once it really runs: a stress-ng worker on the CPU, the stream's arrays
resident, or the bench's timing workers started. On leaving the block (normally, by an exception, by Ctrl-C)
the whole tree is frozen, its CPU time read, then sent SIGTERM, and SIGKILL after ``STOP_GRACE_S``.

The record (``NeighbourRecord``, frozen) holds the kind, command, pid, start and stop times, the CPU time
the neighbour used (psutil, over its whole process tree) and the 1-minute load average: read when the
neighbour is running, every ``LOAD_SAMPLE_INTERVAL_S`` by a sampling thread, and once more at the stop; mean
and max are over those reads.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import psutil

from harness import interrupts

LOAD_SAMPLE_INTERVAL_S = 5.0  # the kernel updates the load average every 5 s
STOP_GRACE_S = 5.0  # SIGTERM, then SIGKILL after this long
_KILLED_WAIT_S = 10.0  # after SIGKILL: only a process stuck in the kernel takes longer
_POLL_S = 0.05
_READY_POLL_S = 0.1
_READY_TIMEOUT_S = {"cpu": 30.0, "memory": 60.0, "bench": 300.0}
_STREAM_ARRAYS = 3  # stress-ng's stream: three arrays, each 4x --stream-l3-size
_STREAM_MIN_BYTES, _STREAM_MAX_BYTES = 192 * 2**20, 1536 * 2**20
_FALLBACK_LLC_BYTES = 32 * 2**20
_STRESS_NG_TIMEOUT = "24h"  # a bound of its own, should everything else fail
_REPO = Path(__file__).resolve().parents[1]


class NeighbourKind(StrEnum):
    NONE = "none"
    CPU = "cpu"
    MEMORY = "memory"
    BENCH = "bench"


class NeighbourError(RuntimeError):
    """The neighbour could not be started (a missing tool, it exited, it never got going): exit 2."""


@dataclass(frozen=True)
class NeighbourRecord:
    """What ran beside a measurement, and the load it caused."""

    kind: str
    """``none``, ``cpu``, ``memory`` or ``bench``."""
    command: tuple[str, ...]
    """The command line started (empty for ``none``)."""
    pid: int | None
    """Its process id (the process group's id too); None for ``none``."""
    started_at_unix_s: float
    """When it was running (after the readiness wait)."""
    stopped_at_unix_s: float | None
    """When it was stopped; None in a snapshot of a neighbour still running."""
    load_1min_at_start: float
    """The 1-minute load average when it was running (it lags: mostly the load before)."""
    load_1min_mean: float
    """Mean of the 1-minute load average over the reads of the run."""
    load_1min_max: float
    """Largest 1-minute load average read."""
    load_samples: int
    """Reads of the load average: at the start, every ``load_sample_interval_s``, at the stop."""
    load_sample_interval_s: float
    cpu_seconds: float
    """User + system CPU time of the neighbour's whole process tree (0 for ``none``)."""
    stopped_by: str = ""
    """``SIGTERM``, ``SIGKILL``, ``exited early`` (gone before the stop) or empty (none, a snapshot)."""

    def __post_init__(self) -> None:
        if self.kind not in set(NeighbourKind):
            raise ValueError(f"unknown neighbour kind {self.kind!r}")
        loads = (self.load_1min_at_start, self.load_1min_mean, self.load_1min_max, self.cpu_seconds)
        if self.load_samples < 1 or not all(math.isfinite(v) and v >= 0 for v in loads):
            raise ValueError(f"a neighbour record needs finite, non-negative figures, got {loads}")

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for a results table: what ran and the load it came with."""
        what = "no neighbour" if self.kind == NeighbourKind.NONE else f"neighbour `{self.kind}`"
        used = f"the neighbour used {self.cpu_seconds:.0f} s of CPU"
        if self.stopped_at_unix_s is not None and self.stopped_at_unix_s > self.started_at_unix_s:
            seconds = self.stopped_at_unix_s - self.started_at_unix_s
            used += f" in {seconds:.0f} s ({self.cpu_seconds / seconds:.2f} of a core)"
        return (
            f"{what}: load average (1 min) {self.load_1min_at_start:.2f} at the start, mean "
            f"{self.load_1min_mean:.2f}, max {self.load_1min_max:.2f} ({self.load_samples} reads); {used}"
        )


NEIGHBOUR_CSV_COLUMNS = ("neighbour", "neighbour_load_1min_mean", "neighbour_load_1min_max")


def csv_fields(record: NeighbourRecord | None) -> tuple[str, str, str]:
    """The values of ``NEIGHBOUR_CSV_COLUMNS`` (empty when there is no record)."""
    if record is None:
        return ("", "", "")
    return (record.kind, f"{record.load_1min_mean:.3f}", f"{record.load_1min_max:.3f}")


def neighbour_scratch(workload_scratch: Path) -> Path:
    """The neighbour's folder: beside the workload data (git-ignored ``.skybench/``), never in reports/."""
    return workload_scratch.resolve().parent / "neighbour"


# --- commands ---


def last_level_cache_bytes(cpu_dir: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int:
    """The size of CPU 0's highest-level cache from sysfs, or 32 MiB when the kernel does not say."""
    sizes: dict[int, int] = {}
    for index in cpu_dir.glob("index*"):
        try:
            level = int((index / "level").read_text())
            match = re.fullmatch(r"(\d+)([KMG]?)", (index / "size").read_text().strip())
        except (OSError, ValueError):
            continue
        if match:
            scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match.group(2)]
            sizes[level] = max(sizes.get(level, 0), int(match.group(1)) * scale)
    return sizes[max(sizes)] if sizes else _FALLBACK_LLC_BYTES


def stream_l3_size_arg(llc_bytes: int) -> str:
    """``--stream-l3-size`` so that stress-ng's three arrays (4x it each) total twice the LLC, bounded."""
    total_bytes = min(max(2 * llc_bytes, _STREAM_MIN_BYTES), _STREAM_MAX_BYTES)
    return f"{total_bytes // (_STREAM_ARRAYS * 4) // 2**10}K"


def _stream_bytes(l3_arg: str) -> int:
    return int(l3_arg.rstrip("K")) * 2**10 * 4 * _STREAM_ARRAYS


def neighbour_command(kind: NeighbourKind, scratch_dir: Path) -> list[str]:
    """The command line of a kind (without the ``setpriv`` wrapper); NeighbourError if its tool is missing."""
    if kind is NeighbourKind.BENCH:
        out, workloads = scratch_dir / "bench-reports", scratch_dir / "bench-workloads"
        bench = [sys.executable, "-m", "harness", "bench", "--quick", "--no-push", "--no-criterion"]
        bench += ["--no-floors", "--no-progress", "--out", str(out), "--scratch", str(workloads)]
        # Runs the bench while it succeeds (a failing one ends the loop: the readiness wait reports it), and
        # removes each run folder: a loop of hours must not fill the disk.
        loop = f'while setpriv --pdeathsig KILL "$@"; do rm -rf "{out}/runs"; done'
        return ["sh", "-c", loop, "sh", *bench]
    if shutil.which("stress-ng") is None:
        raise NeighbourError(
            f"neighbour {kind} needs stress-ng: run `make test-deps` (or apt-get install stress-ng)"
        )
    if kind is NeighbourKind.CPU:
        return ["stress-ng", "--cpu", "1", "--timeout", _STRESS_NG_TIMEOUT]
    l3_arg = stream_l3_size_arg(last_level_cache_bytes())
    return ["stress-ng", "--stream", "1", "--stream-l3-size", l3_arg, "--timeout", _STRESS_NG_TIMEOUT]


# --- the process tree ---


def _tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants that still exist (zombies count as gone)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    return [p for p in processes if _alive(p)]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def tree_cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    """User + system time of each process and of its children already reaped (each counted once)."""
    total = 0.0
    for process in processes:
        with suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def _is_timing_worker(process: psutil.Process) -> bool:
    with suppress(psutil.Error):
        return "harness.worker" in " ".join(process.cmdline())
    return False


def _rss_bytes(process: psutil.Process) -> int:
    with suppress(psutil.Error):
        return int(process.memory_info().rss)
    return 0


def _is_ready(kind: NeighbourKind, command: Sequence[str], pid: int) -> bool:
    """Whether the neighbour really runs: it does its work, not merely its start-up."""
    descendants = _tree(pid)[1:]
    if kind is NeighbourKind.BENCH:
        return any(_is_timing_worker(p) for p in descendants)
    if kind is NeighbourKind.MEMORY:
        needed_bytes = 0.9 * _stream_bytes(command[command.index("--stream-l3-size") + 1])
        return any(_rss_bytes(p) >= needed_bytes for p in descendants)
    return any(tree_cpu_seconds([p]) > 0 for p in descendants)


def _signal_tree(pgid: int, processes: Sequence[psutil.Process], signum: int) -> None:
    """The group and each process of the tree (the bench's workers have process groups of their own)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
    for process in processes:
        with suppress(psutil.Error):
            process.send_signal(signum)


def _wait_gone(process: subprocess.Popen[bytes], others: Sequence[psutil.Process], timeout_s: float) -> bool:
    """Waits for the root (reaped) and the rest (gone or zombie) until ``timeout_s``; whether all are gone."""
    deadline = time.monotonic() + timeout_s
    while True:
        root_gone = process.poll() is not None
        if root_gone and not any(_alive(p) for p in others):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


def stop_tree(process: subprocess.Popen[bytes], grace_s: float | None = None) -> tuple[float, str]:
    """Stops the process and every descendant; (their CPU seconds, how it was stopped).

    ``grace_s`` (default ``STOP_GRACE_S``) is how long SIGTERM has before SIGKILL.
    """
    if process.poll() is not None:
        return 0.0, "exited early"
    pgid = process.pid
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGSTOP)  # frozen: nothing forks while the tree is listed
    tree = _tree(process.pid)
    _signal_tree(pgid, tree, signal.SIGSTOP)
    cpu_seconds = tree_cpu_seconds(tree)
    _signal_tree(pgid, tree, signal.SIGTERM)
    _signal_tree(pgid, tree, signal.SIGCONT)  # a stopped process acts on SIGTERM once continued
    others = [p for p in tree if p.pid != process.pid]
    if _wait_gone(process, others, STOP_GRACE_S if grace_s is None else grace_s):
        return cpu_seconds, "SIGTERM"
    _signal_tree(pgid, [*tree, *_tree(process.pid)], signal.SIGKILL)
    if not _wait_gone(process, others, _KILLED_WAIT_S):
        raise NeighbourError(f"neighbour {process.pid} did not die after SIGKILL")
    return cpu_seconds, "SIGKILL"


# --- the load average ---


class _LoadSampler:
    """Reads the 1-minute load average now, every ``interval_s`` on a thread, and at ``stop()``."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._reads = [(time.monotonic(), os.getloadavg()[0])]  # (when, 1-minute load)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neighbour-load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            self._read()

    def _read(self) -> None:
        read = (time.monotonic(), os.getloadavg()[0])
        with self._lock:
            self._reads.append(read)

    def loads(self, since_monotonic_s: float = -math.inf) -> tuple[float, ...]:
        with self._lock:
            return tuple(load for when, load in self._reads if when >= since_monotonic_s)

    def stop(self) -> tuple[float, ...]:
        self._stopping.set()
        self._thread.join()
        self._read()
        return self.loads()


# --- the run ---


class NeighbourRun:
    """A neighbour being run: ``snapshot()`` while it runs, ``record`` once ``running_neighbour`` ended."""

    def __init__(self, kind: NeighbourKind, command: Sequence[str], process: subprocess.Popen[bytes] | None):
        self.kind = kind
        self.command = tuple(command)
        self.process = process
        self.started_at_unix_s = time.time()
        self._sampler: _LoadSampler | None = None  # from begin(): the load while it runs
        self._record: NeighbourRecord | None = None

    def begin(self) -> None:
        """The neighbour runs from now: the start time and the load sampling begin."""
        self.started_at_unix_s = time.time()
        self._sampler = _LoadSampler(LOAD_SAMPLE_INTERVAL_S)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def record(self) -> NeighbourRecord:
        if self._record is None:
            raise RuntimeError("the neighbour's record exists once running_neighbour() has ended")
        return self._record

    def _record_of(
        self, loads: Sequence[float], cpu_seconds: float, stopped_at: float | None, stopped_by: str
    ) -> NeighbourRecord:
        return NeighbourRecord(
            kind=str(self.kind),
            command=self.command,
            pid=self.pid,
            started_at_unix_s=self.started_at_unix_s,
            stopped_at_unix_s=stopped_at,
            load_1min_at_start=loads[0],
            load_1min_mean=sum(loads) / len(loads),
            load_1min_max=max(loads),
            load_samples=len(loads),
            load_sample_interval_s=self._sampler.interval_s if self._sampler else LOAD_SAMPLE_INTERVAL_S,
            cpu_seconds=cpu_seconds,
            stopped_by=stopped_by,
        )

    def load_during_last(self, seconds: float) -> dict[str, float]:
        """The 1-minute load average over the last ``seconds`` (one run of several): its reads and one now."""
        recent = self._sampler.loads(time.monotonic() - seconds) if self._sampler is not None else ()
        loads = (*recent, os.getloadavg()[0])
        return {"mean": sum(loads) / len(loads), "max": max(loads), "reads": len(loads)}

    def snapshot(self) -> NeighbourRecord:
        """The record so far (``stopped_at_unix_s`` None), for a results line written while it runs."""
        if self._record is not None:
            return self._record
        cpu_seconds = tree_cpu_seconds(_tree(self.pid)) if self.pid is not None else 0.0
        loads = self._sampler.loads() if self._sampler is not None else (os.getloadavg()[0],)
        return self._record_of(loads, cpu_seconds, None, "")

    def stop(self) -> NeighbourRecord:
        """Stops the neighbour (idempotent) and makes the record."""
        if self._record is None:
            cpu_seconds, stopped_by = stop_tree(self.process) if self.process is not None else (0.0, "")
            # A neighbour that never got going (its start failed) has one read: the load at its stop.
            loads = self._sampler.stop() if self._sampler is not None else (os.getloadavg()[0],)
            self._record = self._record_of(loads, cpu_seconds, time.time(), stopped_by)
        return self._record


def _log_tail(log: IO[bytes]) -> str:
    log.seek(0)
    return " ".join(log.read().decode(errors="replace").split())[-400:] or "no output"


def _spawn(command: Sequence[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Starts ``command`` in its own process group, to die with the harness (``setpriv --pdeathsig``)."""
    try:
        return subprocess.Popen(
            ["setpriv", "--pdeathsig", "KILL", *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=_REPO,
            process_group=0,
        )
    except OSError as error:
        raise NeighbourError(f"cannot start the neighbour {command[0]}: {error}") from error


def _wait_until_running(run: NeighbourRun, log: IO[bytes]) -> None:
    assert run.process is not None
    timeout_s = _READY_TIMEOUT_S[str(run.kind)]
    deadline = time.monotonic() + timeout_s
    while not _is_ready(run.kind, run.command, run.process.pid):
        if run.process.poll() is not None:
            raise NeighbourError(
                f"neighbour {run.kind} exited with {run.process.returncode}: {_log_tail(log)}"
            )
        if time.monotonic() >= deadline:
            raise NeighbourError(f"neighbour {run.kind} was not running after {timeout_s:.0f} s")
        time.sleep(_READY_POLL_S)
    run.begin()


@contextmanager
def running_neighbour(kind: NeighbourKind | str, scratch_dir: Path) -> Iterator[NeighbourRun]:
    """Runs the neighbour for the block; it is stopped however the block ends (see the module docstring).

    ``scratch_dir`` holds its log (``neighbour.log``) and, for ``bench``, the batch's run folders and data.
    """
    kind = NeighbourKind(kind)
    if kind is NeighbourKind.NONE:
        run = NeighbourRun(kind, (), None)
        run.begin()
        try:
            yield run
        finally:
            run.stop()
        return
    command = neighbour_command(kind, scratch_dir)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    with (scratch_dir / "neighbour.log").open("w+b") as log:
        # A Ctrl-C between the spawn and the hand-over to this block's `finally` would leave it running.
        with _sigint_blocked(), interrupts.deferred():
            run = NeighbourRun(kind, command, _spawn(command, log))
        try:
            _wait_until_running(run, log)
            yield run
        finally:
            with _sigint_blocked():  # a second Ctrl-C waits until the tree is gone
                run.stop()


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT held back for the block (its handler runs right after); the child inherits the mask, which
    is harmless: it lives in its own process group, where no terminal's Ctrl-C reaches."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
