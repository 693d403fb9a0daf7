"""The I/O pairs (``harness.functions.reference.io_utils``): read_last_n_lines, hash_file, find_free_port.

Their workloads: seeded log files, random-byte files and a source tree to hash, and windows of held ports.
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from harness.functions.pairs.declaration import PairDeclaration, builtin_pair
from harness.functions.pairs.workload_types import (
    ALL_MODES,
    DEFAULT_AND_FULL,
    FULL_ONLY,
    GB,
    GIB,
    KB,
    KIB,
    MB,
    MIB,
    Builder,
    DataItem,
    Mode,
    PreparedWorkload,
    Workload,
    generated_item,
)

# --- log files (read_last_n_lines) --------------------------------------------------------------------------

_LOG_LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR")
_LOG_SOURCES = ("service.py", "load_balancer.py", "replica_managers.py", "controller.py", "autoscalers.py")
_LOG_MESSAGES = (
    "Request {hex} served in {ms} ms status=200 path=/v1/chat/completions",
    "Replica {n} is READY; endpoint http://10.0.{n}.{m}:8080",
    "Probing replica {n}: readiness check passed after {ms} ms",
    "Scaling decision: target={n} current={m} qps={ms}",
    "Syncing file mounts to node {hex} ({n} files, {ms} KB)",
    "Job {n} status changed: RUNNING -> SUCCEEDED",
)
_INVALID_UTF8_FRAGMENTS = (b"\xff\xfe", b"\xe2\x82", b"\xc3", b"\x80\x80", b"caf\xe9")
_VALID_NON_ASCII = ("café", "日本語", "naïve", "Ω≈ç")
_LINES_PER_CHUNK = 2000  # one line per chunk is longer than the 8 KiB block the backward scan reads


def _log_line(rng: random.Random, style: str) -> bytes:
    template = rng.choice(_LOG_MESSAGES)
    message = template.format(
        hex=f"{rng.getrandbits(64):016x}",
        n=rng.randrange(1, 64),
        m=rng.randrange(1, 255),
        ms=rng.randrange(999),
    )
    if style == "invalid-utf8" and rng.random() < 0.3:
        message += " " + rng.choice(_VALID_NON_ASCII)
    prefix = (
        f"2024-10-{rng.randrange(1, 31):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}:"
        f"{rng.randrange(60):02d},{rng.randrange(1000):03d} {rng.choice(_LOG_LEVELS)} "
        f"[{rng.choice(_LOG_SOURCES)}:{rng.randrange(1, 2000)}] "
    )
    text = (prefix + message).encode("utf-8")
    target_length = rng.randrange(80, 201)  # 80-200 bytes, as the spec suggests
    while len(text) < target_length:
        text += b" k" + str(rng.randrange(10_000)).encode() + b"=v" + str(rng.randrange(10_000)).encode()
    text = text[:target_length]
    if style == "invalid-utf8" and rng.random() < 0.2:
        cut = rng.randrange(len(text))
        text = text[:cut] + rng.choice(_INVALID_UTF8_FRAGMENTS) + text[cut:]
    return text


def _long_log_line(rng: random.Random) -> bytes:
    """A one-line stack trace or JSON dump longer than the 8 KiB chunk the backward scan reads."""
    frames = " | ".join(
        f'File "/opt/sky/lib/python3.10/sky/{rng.choice(_LOG_SOURCES)}", line {rng.randrange(9999)}'
        for _ in range(rng.randrange(120, 260))
    )
    return f"ERROR Traceback (most recent call last): {frames}".encode()


def _write_log(path: Path, rng: random.Random, size_bytes: int, style: str) -> None:
    ending = b"\r\n" if style == "crlf" else b"\n"
    pool = [_log_line(rng, style) for _ in range(4096)]
    written = 0
    with path.open("wb") as handle:
        while written < size_bytes:
            lines = rng.choices(pool, k=_LINES_PER_CHUNK)
            if size_bytes > 64 * KB:  # one long line per chunk; tiny logs stay plain
                lines[rng.randrange(len(lines))] = _long_log_line(rng)
            chunk = ending.join(lines) + ending
            chunk = chunk[: size_bytes - written]
            handle.write(chunk)
            written += len(chunk)
        # End with a newline, as a log that is being appended to does between writes.
        handle.seek(size_bytes - 1)
        handle.write(b"\n")


def _log_item(size_bytes: int, label: str, style: str = "plain") -> DataItem:
    suffix = "" if style == "plain" else f"-{style}"
    return generated_item(f"log-{label}{suffix}.log", _write_log, size_bytes=size_bytes, style=style)


def _read_last_n_lines_workloads() -> list[Workload]:
    workloads: list[Workload] = []
    sizes = (
        (1 * KB, "1KB", ALL_MODES),
        (1 * MB, "1MB", ALL_MODES),
        (100 * MB, "100MB", DEFAULT_AND_FULL),
        (1 * GB, "1GB", FULL_ONLY),
    )
    for size_bytes, label, modes in sizes:
        item = _log_item(size_bytes, label)
        for n in (10, 1000, 10000):
            # Quick mode keeps one n per size so it stays short.
            workload_modes = modes if n == 1000 or Mode.QUICK not in modes else modes - {Mode.QUICK}
            workloads.append(
                Workload(
                    function="read_last_n_lines",
                    id=f"{label}-n{n}",
                    modes=workload_modes,
                    size=float(size_bytes),
                    size_unit="bytes",
                    description=f"last {n} lines of a {label} log (lines of 80-200 bytes, some > 8 KiB)",
                    data=(item,),
                    build=_read_last_n_lines_builder(item.name, n),
                    large=size_bytes >= 100 * MB,
                )
            )
    for style in ("crlf", "invalid-utf8"):
        item = _log_item(1 * MB, "1MB", style)
        workloads.append(
            Workload(
                function="read_last_n_lines",
                id=f"1MB-{style}-n1000",
                modes=DEFAULT_AND_FULL,
                size=float(1 * MB),
                size_unit="bytes",
                description=f"last 1000 lines of a 1MB log with {style} lines",
                data=(item,),
                build=_read_last_n_lines_builder(item.name, 1000),
            )
        )
    return workloads


def _read_last_n_lines_builder(item_name: str, n: int) -> Builder:
    return lambda paths, _seed: PreparedWorkload(batch=((str(paths[item_name]), n),))


# --- files and trees to hash (hash_file) ------------------------------------------------------------------


def _write_random_bytes(path: Path, rng: random.Random, size_bytes: int) -> None:
    with path.open("wb") as handle:
        remaining = size_bytes
        while remaining:
            block = min(remaining, MIB)
            handle.write(rng.randbytes(block))
            remaining -= block


def _write_tree(path: Path, rng: random.Random, file_count: int) -> None:
    """A source tree: nested folders of files of 1-64 KiB (log-uniform), like a file_mount of code."""
    for index in range(file_count):
        folder = path / f"pkg{index % 40:02d}" / f"mod{index % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        size_bytes = int(2 ** rng.uniform(10, 16))
        (folder / f"file{index:05d}.py").write_bytes(rng.randbytes(size_bytes))


def _files_under(root: Path) -> list[str]:
    """Every file under root in the sorted walk order SkyPilot's cluster-yaml hash uses."""
    files: list[str] = []
    for folder, subfolders, names in os.walk(root):
        subfolders.sort()
        files.extend(os.path.join(folder, name) for name in sorted(names))
    return files


def _finalise_digest(function: Callable[..., Any]) -> Callable[..., Any]:
    # SkyPilot's callers always finalise the hash object; both sides pay for it the same way.
    def call(path: str, algorithm: str) -> Any:
        return function(path, algorithm).digest()

    return call


_TREE_FILE_COUNT = 2000


def _hash_one_file(item_name: str, algorithm: str, paths: Mapping[str, Path], _seed: int) -> PreparedWorkload:
    return PreparedWorkload(batch=((str(paths[item_name]), algorithm),), adapter=_finalise_digest)


def _hash_tree(item_name: str, algorithm: str, paths: Mapping[str, Path], _seed: int) -> PreparedWorkload:
    files = _files_under(paths[item_name])
    return PreparedWorkload(batch=tuple((path, algorithm) for path in files), adapter=_finalise_digest)


def _hash_file_workloads() -> list[Workload]:
    workloads: list[Workload] = []
    sizes = (
        (4 * KIB, "4KiB", ALL_MODES),
        (1 * MIB, "1MiB", ALL_MODES),
        (256 * MIB, "256MiB", DEFAULT_AND_FULL),
        (1 * GIB, "1GiB", FULL_ONLY),
    )
    tree = generated_item(f"tree-{_TREE_FILE_COUNT}", _write_tree, file_count=_TREE_FILE_COUNT)
    for algorithm in ("md5", "sha256"):
        for size_bytes, label, modes in sizes:
            item = generated_item(f"bytes-{label}.bin", _write_random_bytes, size_bytes=size_bytes)
            workloads.append(
                Workload(
                    function="hash_file",
                    id=f"{algorithm}-{label}",
                    modes=modes if algorithm == "sha256" or size_bytes < MIB else modes - {Mode.QUICK},
                    size=float(size_bytes),
                    size_unit="bytes",
                    description=f"{algorithm} of a {label} file of random bytes, finalised with .digest()",
                    data=(item,),
                    build=partial(_hash_one_file, item.name, algorithm),
                    large=size_bytes >= 256 * MIB,
                )
            )
        workloads.append(
            Workload(
                function="hash_file",
                id=f"{algorithm}-tree-{_TREE_FILE_COUNT}",
                modes=DEFAULT_AND_FULL,
                size=float(_TREE_FILE_COUNT),
                size_unit="files",
                description=f"{algorithm} of every file of a {_TREE_FILE_COUNT}-file tree (1-64 KiB files), "
                "as SkyPilot's cluster-yaml hash walks file mounts",
                data=(tree,),
                build=partial(_hash_tree, tree.name, algorithm),
            )
        )
    return workloads


# --- ports (find_free_port) ------------------------------------------------------------------------------

_PORT_SEARCH_START = 42000
_PORT_SEARCH_END = 60000


def _bindable_on_any_address(port: int) -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("", port))
    except OSError:
        return False
    finally:
        probe.close()
    return True


# The windows this process holds (one port before, the held ones, the stop port). A window must not start
# inside another: a window of 0 held ports holds no socket, so only this set keeps a later window (prepared
# in the same process: the floor inputs, a gate worker's keys) from taking its start port.
_reserved_ports: set[int] = set()


def _port_window(start: int, occupied: int) -> range:
    """A window's ports: the free one before it, the ``occupied`` held ones, and the stop port after."""
    return range(start - 1, start + occupied + 1)


@dataclass(frozen=True)
class PortWindowRelease:
    """Frees a window's reservation when the workload holding it is closed."""

    start: int
    occupied: int

    def close(self) -> None:
        _reserved_ports.difference_update(_port_window(self.start, self.occupied))


def occupy_ports_ahead(occupied: int) -> tuple[int, list[socket.socket]]:
    """A start port with ``occupied`` ports held just ahead of it, and the sockets holding them.

    The sockets are bound to 127.0.0.1 without SO_REUSEADDR and never listen. That is enough to make the
    wildcard bind that find_free_port tries fail, and nothing on another address is touched.

    The window is free from one port before it to one port after it, and only its middle is held. The port
    after it is where find_free_port must stop; the free port before it keeps that port out of another
    process's window. Without it, two workers holding windows at once (the gate's base and candidate)
    stacked them end to end: the first worker's search ran through the second's window too and did twice
    the work (twice the allocations: a -47% "improvement" between identical builds).
    """
    start = _PORT_SEARCH_START + 1
    while start + occupied < _PORT_SEARCH_END:
        window = _port_window(start, occupied)
        blocked = next(
            (port for port in window if port in _reserved_ports or not _bindable_on_any_address(port)), None
        )
        if blocked is None:
            held: list[socket.socket] = []
            try:
                for port in range(start, start + occupied):
                    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    held.append(holder)
                    holder.bind(("127.0.0.1", port))
            except OSError:
                for holder in held:
                    holder.close()
                start += occupied + 2  # someone took a port meanwhile: move on
                continue
            _reserved_ports.update(window)
            return start, held
        start = blocked + 2
    raise OSError(
        f"no window of {occupied + 2} free ports between {_PORT_SEARCH_START} and {_PORT_SEARCH_END}"
    )


def _find_free_port_workloads() -> list[Workload]:
    def build(occupied: int) -> Builder:
        def prepare_ports(_paths: Mapping[str, Path], _seed: int) -> PreparedWorkload:
            start, held = occupy_ports_ahead(occupied)
            return PreparedWorkload(batch=((start,),), resources=[*held, PortWindowRelease(start, occupied)])

        return prepare_ports

    return [
        Workload(
            function="find_free_port",
            id=f"occupied-{occupied}",
            modes=ALL_MODES if occupied == 10 else DEFAULT_AND_FULL,
            size=float(occupied),
            size_unit="ports",
            description=f"first free port with {occupied} ports held (127.0.0.1, bound, not listening) ahead",
            data=(),
            build=build(occupied),
        )
        for occupied in (0, 10, 100)
    ]


_MISSING_PATH = "/nonexistent/skybench-example"

PAIRS: tuple[PairDeclaration, ...] = (
    builtin_pair(
        "read_last_n_lines",
        _read_last_n_lines_workloads(),
        owned_messages=(
            r"n must be non-negative\. Got .*",
            r"chunk_size must be positive\. Got .*",
            r"File not found: .*",
            r"Failed to read last .* lines from .*: \[Errno \d+\]",
        ),
        # Calls that need no file; the parity suite's rows cover the files (tests/parity).
        examples=((_MISSING_PATH, 10), (_MISSING_PATH, -1), ("/", 1)),
    ),
    builtin_pair(
        "hash_file",
        _hash_file_workloads(),
        owned_messages=(r"unsupported hash type .*",),
        examples=((_MISSING_PATH, "md5"), ("/", "sha256")),
    ),
    builtin_pair(
        "find_free_port", _find_free_port_workloads(), owned_messages=(r"No free ports available\.",)
    ),
)
