"""Physical references for the scaling charts: what the hardware and the standard tools do on the same input.

``RunResult.physical_references`` maps ``"function/workload/what"`` to a number whose unit is in ``what``:

- ``hash_file/<workload>/hashlib_ns``: one call of plain hashlib on the workload's file (open,
  ``hashlib.new``, a ``readinto`` loop over a 256 KiB buffer allocated once for all calls, ``.digest()``):
  on large files OpenSSL's speed, the floor for either port (on small ones, mostly Python's own I/O cost).
  Timed in this process with the worker's loop and calibration; the median of a few values.
- ``hash_file/<workload>/coreutils_ns``: one run of ``md5sum`` / ``sha256sum`` on the file, as a subprocess,
  so it includes starting the process: the median of a few runs.
- ``read_last_n_lines/<workload>/bytes_read_per_call``: the bytes the backward scan of spec 2.1 reads for
  the workload's ``n`` (chunks of ``chunk_size`` from the end until more than ``n`` newlines are seen).

Only single-file workloads get references (a tree of files has no single size to compare against).
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from harness.functions import reference
from harness.functions.pairs.workload_types import Workload, prepare
from harness.measure.worker import calibrate_loops, time_batch_ns

# hashlib values and coreutils runs per file: a few, as a reference needs no interval and the largest files
# take long per run.
REFERENCE_VALUES = 5

HASHLIB_NS = "hashlib_ns"
COREUTILS_NS = "coreutils_ns"
BYTES_READ_PER_CALL = "bytes_read_per_call"

# The shell tool that computes each algorithm of the hash_file workloads.
COREUTILS_COMMANDS: Mapping[str, str] = {"md5": "md5sum", "sha256": "sha256sum"}
_HASH_BLOCK_BYTES = 2**18  # SkyPilot's hash_file reads 256 KiB blocks (spec 2.2)
# chunk_size's default in SkyPilot's signature, which both ports use (spec 2.1).
READ_CHUNK_BYTES: int = inspect.signature(reference.read_last_n_lines).parameters["chunk_size"].default


def reference_key(function: str, workload: str, what: str) -> str:
    """The key of one reference in ``RunResult.physical_references``."""
    return f"{function}/{workload}/{what}"


def references_of(references: Mapping[str, float], function: str, workload: str) -> dict[str, float]:
    """The references of one pair: ``what`` -> value."""
    prefix = f"{function}/{workload}/"
    return {key.removeprefix(prefix): value for key, value in references.items() if key.startswith(prefix)}


def hashlib_digest(path: str, algorithm: str, buffer: bytearray | None = None) -> bytes:
    """The digest of a file by plain hashlib, read as SkyPilot reads it: the speed floor of hash_file.

    ``buffer`` (256 KiB if None) is where blocks are read; the reference passes one for all its calls, so
    that zeroing a fresh 256 KiB per call, which SkyPilot pays, is not counted in the floor.
    """
    block = buffer if buffer is not None else bytearray(_HASH_BLOCK_BYTES)
    view = memoryview(block)
    with open(path, "rb") as handle:
        digest = hashlib.new(algorithm)
        while read := handle.readinto(block):
            digest.update(view[:read])
        return digest.digest()


def hashlib_time_ns(path: str, algorithm: str, values: int, min_time_s: float) -> float:
    """Median time of one ``hashlib_digest`` call, with the worker's loop and calibration."""
    batch = ((path, algorithm, bytearray(_HASH_BLOCK_BYTES)),)
    loops = calibrate_loops(hashlib_digest, batch, min_time_s)
    return statistics.median(time_batch_ns(hashlib_digest, batch, loops) / loops for _ in range(values))


def coreutils_time_ns(command: str, path: str, runs: int) -> float:
    """Median wall time of ``command path`` as a subprocess, process start included."""
    times_ns: list[int] = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        subprocess.run(
            [command, path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, timeout=600
        )
        times_ns.append(time.perf_counter_ns() - start)
    return statistics.median(times_ns)


def bytes_read_per_call(path: str, n: int, chunk_size: int = READ_CHUNK_BYTES) -> int:
    """The bytes read_last_n_lines reads from the end of the file for ``n`` (spec 2.1, step 4)."""
    if n < 0 or chunk_size < 1:
        raise ValueError(f"need n >= 0 and chunk_size >= 1, got n={n}, chunk_size={chunk_size}")
    if n == 0:
        return 0  # returns [] without opening the file
    with open(path, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        end = position
        newlines_seen = 0
        while position > 0 and newlines_seen <= n:
            read_size = min(chunk_size, position)
            position -= read_size
            handle.seek(position)
            newlines_seen += handle.read(read_size).count(b"\n")
    return end - position


def measure_references(
    workloads: Iterable[Workload], scratch: Path, seed: int, *, values: int, min_time_s: float
) -> Iterator[tuple[str, float]]:
    """(key, value) of every reference of the given workloads, one at a time, so a caller that is stopped
    (Ctrl-C) keeps those it has. ``values`` hashlib values and coreutils runs per file."""
    for workload in workloads:
        if workload.function not in ("hash_file", "read_last_n_lines"):
            continue
        prepared = prepare(workload, scratch, seed)
        try:
            batch = prepared.batch
        finally:
            prepared.close()
        if len(batch) != 1:
            continue  # a tree of files
        path, argument = batch[0]
        if workload.function == "read_last_n_lines":
            key = reference_key(workload.function, workload.id, BYTES_READ_PER_CALL)
            yield key, float(bytes_read_per_call(path, argument))
            continue
        yield (
            reference_key(workload.function, workload.id, HASHLIB_NS),
            hashlib_time_ns(path, argument, values, min_time_s),
        )
        tool = COREUTILS_COMMANDS.get(argument)
        command = shutil.which(tool) if tool else None
        if command is not None:  # no tool for this algorithm here: no reference, rather than a failed run
            yield (
                reference_key(workload.function, workload.id, COREUTILS_NS),
                coreutils_time_ns(command, path, values),
            )
