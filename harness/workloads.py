"""Realistic workloads for the 12 functions (spec section 4), and the seeded data they run on.

A workload is a stable id plus the recipe for its arguments. Any process (the bench, or a timing worker that
another build's Python runs for the gate) rebuilds the same arguments from the id and the seed: files and
directories are generated into a scratch folder on first use and reused afterwards. Every generated item has a
sidecar marker recording the generator version, the seed and its parameters; when they change it is rebuilt.

A workload is always a *batch*: a tuple of argument tuples. The timing loop makes one pass over the batch with
the same code on both sides, and per-call time is batch time / batch length. A single call is a batch of one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import shutil
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

# Bump when any generator below changes what it writes: every run then rebuilds its data.
GENERATOR_VERSION = 1
DEFAULT_SCRATCH = Path(".skybench/workloads")

_KB = 1_000
_MB = 1_000_000
_GB = 1_000_000_000
_KIB = 1024
_MIB = 1024 * 1024
_GIB = 1024 * 1024 * 1024
_STRING_BATCH_LENGTH = 1000


class Mode(StrEnum):
    """How much a run measures: each workload says in which modes it runs."""

    QUICK = "quick"
    DEFAULT = "default"
    FULL = "full"


ALL_MODES = frozenset(Mode)
DEFAULT_AND_FULL = frozenset({Mode.DEFAULT, Mode.FULL})
FULL_ONLY = frozenset({Mode.FULL})

Args = tuple[Any, ...]
Adapter = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass(frozen=True)
class DataItem:
    """A file or directory under the scratch folder, written by ``generate(path, rng)``."""

    name: str
    params: tuple[tuple[str, Any], ...]
    generate: Callable[[Path, random.Random], None]


@dataclass
class PreparedWorkload:
    """The arguments of one workload, ready to call; ``close()`` releases what it holds (sockets)."""

    batch: tuple[Args, ...]
    # Wraps each side's function the same way, e.g. to finalise a hash object as SkyPilot's callers do.
    adapter: Adapter | None = None
    resources: list[socket.socket] = field(default_factory=list)

    def close(self) -> None:
        for resource in self.resources:
            resource.close()
        self.resources.clear()


@dataclass(frozen=True)
class Workload:
    """One realistic input for one function."""

    function: str
    id: str
    modes: frozenset[Mode]
    size: float | None  # in size_unit, for scaling charts; None when the workload has no size
    size_unit: str
    description: str
    data: tuple[DataItem, ...]
    build: Callable[[Mapping[str, Path], int], PreparedWorkload]  # (data paths by item name, seed)
    large: bool = False  # peak resident memory is measured for large workloads only


# --- generation of scratch data ---------------------------------------------------------------------------


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".marker.json")


def _marker_content(item: DataItem, seed: int) -> dict[str, Any]:
    return {"generator_version": GENERATOR_VERSION, "seed": seed, "params": [list(p) for p in item.params]}


@contextmanager
def _scratch_lock(data_dir: Path) -> Iterator[None]:
    """Serialises generation between processes sharing a scratch folder (two gate workers, say)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / ".lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def data_dir_for(scratch: Path) -> Path:
    return scratch / "data"


def ensure_data(item: DataItem, scratch: Path, seed: int) -> Path:
    """The path of ``item``, generated unless an up-to-date copy exists. Safe across processes."""
    data_dir = data_dir_for(scratch)
    path = data_dir / item.name
    marker = _marker_path(path)
    expected = _marker_content(item, seed)
    with _scratch_lock(data_dir):
        if path.exists() and marker.exists():
            try:
                if json.loads(marker.read_text(encoding="utf-8")) == expected:
                    return path
            except (OSError, ValueError):
                pass  # an unreadable marker means: rebuild
        # Generate under a temporary name and rename, so an interrupted run never leaves a half-written
        # item behind a valid marker.
        partial = path.with_name(path.name + ".partial")
        _remove(marker)
        _remove(partial)
        item.generate(partial, random.Random(f"{seed}:{item.name}"))
        _remove(path)
        partial.rename(path)
        marker.write_text(json.dumps(expected), encoding="utf-8")
    return path


def prepare(workload: Workload, scratch: Path, seed: int) -> PreparedWorkload:
    """Generates the workload's data if needed and builds its arguments."""
    paths = {item.name: ensure_data(item, scratch, seed) for item in workload.data}
    return workload.build(paths, seed)


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
            if size_bytes > 64 * _KB:  # one long line per chunk; tiny logs stay plain
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
    return DataItem(
        name=f"log-{label}{suffix}.log",
        params=(("size_bytes", size_bytes), ("style", style)),
        generate=lambda path, rng: _write_log(path, rng, size_bytes, style),
    )


def _read_last_n_lines_workloads() -> list[Workload]:
    workloads: list[Workload] = []
    sizes = (
        (1 * _KB, "1KB", ALL_MODES),
        (1 * _MB, "1MB", ALL_MODES),
        (100 * _MB, "100MB", DEFAULT_AND_FULL),
        (1 * _GB, "1GB", FULL_ONLY),
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
                    large=size_bytes >= 100 * _MB,
                )
            )
    for style in ("crlf", "invalid-utf8"):
        item = _log_item(1 * _MB, "1MB", style)
        workloads.append(
            Workload(
                function="read_last_n_lines",
                id=f"1MB-{style}-n1000",
                modes=DEFAULT_AND_FULL,
                size=float(1 * _MB),
                size_unit="bytes",
                description=f"last 1000 lines of a 1MB log with {style} lines",
                data=(item,),
                build=_read_last_n_lines_builder(item.name, 1000),
            )
        )
    return workloads


def _read_last_n_lines_builder(
    item_name: str, n: int
) -> Callable[[Mapping[str, Path], int], PreparedWorkload]:
    return lambda paths, _seed: PreparedWorkload(batch=((str(paths[item_name]), n),))


# --- files and trees to hash (hash_file) ------------------------------------------------------------------


def _write_random_bytes(path: Path, rng: random.Random, size_bytes: int) -> None:
    with path.open("wb") as handle:
        remaining = size_bytes
        while remaining:
            block = min(remaining, _MIB)
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
        (4 * _KIB, "4KiB", ALL_MODES),
        (1 * _MIB, "1MiB", ALL_MODES),
        (256 * _MIB, "256MiB", DEFAULT_AND_FULL),
        (1 * _GIB, "1GiB", FULL_ONLY),
    )
    tree = DataItem(
        name=f"tree-{_TREE_FILE_COUNT}",
        params=(("file_count", _TREE_FILE_COUNT),),
        generate=lambda path, rng: _write_tree(path, rng, _TREE_FILE_COUNT),
    )
    for algorithm in ("md5", "sha256"):
        for size_bytes, label, modes in sizes:
            item = DataItem(
                name=f"bytes-{label}.bin",
                params=(("size_bytes", size_bytes),),
                generate=partial(_write_random_bytes, size_bytes=size_bytes),
            )
            workloads.append(
                Workload(
                    function="hash_file",
                    id=f"{algorithm}-{label}",
                    modes=modes if algorithm == "sha256" or size_bytes < _MIB else modes - {Mode.QUICK},
                    size=float(size_bytes),
                    size_unit="bytes",
                    description=f"{algorithm} of a {label} file of random bytes, finalised with .digest()",
                    data=(item,),
                    build=partial(_hash_one_file, item.name, algorithm),
                    large=size_bytes >= 256 * _MIB,
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
        window = range(start - 1, start + occupied + 1)  # the free port before, the held ones, the stop
        blocked = next((port for port in window if not _bindable_on_any_address(port)), None)
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
            return start, held
        start = blocked + 2
    raise OSError(
        f"no window of {occupied + 2} free ports between {_PORT_SEARCH_START} and {_PORT_SEARCH_END}"
    )


def _find_free_port_workloads() -> list[Workload]:
    def build(occupied: int) -> Callable[[Mapping[str, Path], int], PreparedWorkload]:
        def prepare_ports(_paths: Mapping[str, Path], _seed: int) -> PreparedWorkload:
            start, held = occupy_ports_ahead(occupied)
            return PreparedWorkload(batch=((start,),), resources=held)

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


# --- strings and numbers (base36_encode, format_float, truncate_long_string) --------------------------------


def _batch_rng(seed: int, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}")


def _md5_hex_batch(seed: int) -> tuple[Args, ...]:
    rng = _batch_rng(seed, "md5-hex")
    names = (f"sky-{rng.getrandbits(32):08x}-{index}" for index in range(_STRING_BATCH_LENGTH))
    return tuple((hashlib.md5(name.encode()).hexdigest(),) for name in names)


def _uuid_hex_batch(seed: int) -> tuple[Args, ...]:
    rng = _batch_rng(seed, "uuid-hex")
    # uuid4().hex: 128 random bits with the version and variant nibbles set.
    values = (
        (rng.getrandbits(128) & ~(0xF << 76) | (0x4 << 76)) & ~(0x3 << 62) | (0x2 << 62)
        for _ in range(_STRING_BATCH_LENGTH)
    )
    return tuple((f"{value:032x}",) for value in values)


def _format_float_values(seed: int) -> list[float | int]:
    """CPU counts and memory sizes as SkyPilot formats them: ints, whole floats, .5 values, fractions."""
    rng = _batch_rng(seed, "format-float")
    values: list[float | int] = []
    for index in range(_STRING_BATCH_LENGTH):
        kind = index % 4
        if kind == 0:
            values.append(rng.choice((1, 2, 4, 8, 16, 32, 64, 96, 128, 256, 512, 1024)))
        elif kind == 1:
            values.append(float(rng.choice((1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096))))
        elif kind == 2:
            values.append(rng.randrange(0, 1024) + 0.5)
        else:
            values.append(round(rng.uniform(0.1, 4096), rng.randrange(1, 4)))
    return values


_COMMAND_PARTS = (
    "python train.py",
    "torchrun --nproc_per_node=8 train.py",
    "bash setup.sh",
    "--epochs 10",
    "--lr 3e-4",
    "--data-dir /data/imagenet",
    "--output /checkpoints/run-{n}",
    "&& echo done",
    "pip install -r requirements.txt",
    "--model meta-llama/Llama-3-8B",
)
_ERROR_PARTS = (
    "sky.exceptions.ResourcesUnavailableError: Failed to acquire resources in {zone}",
    "botocore.exceptions.ClientError: An error occurred (InsufficientInstanceCapacity)",
    "Command 'rsync -Pavz' failed with return code {n}",
    "ssh: connect to host 10.0.{n}.{n} port 22: Connection timed out",
    "Quota 'NVIDIA_A100_GPUS' exceeded. Limit: {n}.0 in region {zone}.",
)
_ZONES = (
    "us-east-1",
    "us-east-1a",
    "us-central1-a",
    "europe-west4-a",
    "asia-northeast1-b",
    "ap-southeast-2",
    "northamerica-northeast2-c",
    "us-east-1a,us-east-1b,us-east-1c,us-east-1d",
    "me-central1-a, me-central1-b",
)


def _joined(rng: random.Random, parts: Sequence[str], count: int) -> str:
    text = " ".join(rng.choice(parts) for _ in range(count))
    return text.format(n=rng.randrange(1, 256), zone=rng.choice(_ZONES))


def _truncate_batch(seed: int, kind: str) -> tuple[Args, ...]:
    rng = _batch_rng(seed, f"truncate-{kind}")
    batch: list[Args] = []
    for _ in range(_STRING_BATCH_LENGTH):
        if kind == "commands":
            batch.append((_joined(rng, _COMMAND_PARTS, rng.randrange(1, 20))[:500], 25))
        elif kind == "errors":
            batch.append((_joined(rng, _ERROR_PARTS, rng.randrange(1, 5))[:500], 60))
        else:
            batch.append((rng.choice(_ZONES), 25, True))
    return tuple(batch)


def _string_workloads() -> list[Workload]:
    def constant(
        make: Callable[[int], tuple[Args, ...]],
    ) -> Callable[[Mapping[str, Path], int], PreparedWorkload]:
        return lambda _paths, seed: PreparedWorkload(batch=make(seed))

    def batch_workload(
        function: str, workload_id: str, description: str, make: Callable[[int], tuple[Args, ...]]
    ) -> Workload:
        return Workload(
            function=function,
            id=workload_id,
            modes=ALL_MODES,
            size=None,
            size_unit="",
            description=f"{description}; a batch of {_STRING_BATCH_LENGTH} calls, time per call",
            data=(),
            build=constant(make),
        )

    return [
        batch_workload("base36_encode", "md5-hex", "md5 hexdigests (32 hex digits)", _md5_hex_batch),
        batch_workload("base36_encode", "uuid-hex", "uuid4().hex strings (32 hex digits)", _uuid_hex_batch),
        batch_workload(
            "format_float",
            "mixed-p1",
            "CPU/memory values (ints, whole floats, .5 values, fractions), precision 1",
            lambda seed: tuple((value, 1) for value in _format_float_values(seed)),
        ),
        batch_workload(
            "format_float",
            "mixed-p0",
            "the same values at precision 0 (sky show-gpus tables)",
            lambda seed: tuple((value, 0) for value in _format_float_values(seed)),
        ),
        batch_workload(
            "truncate_long_string",
            "commands-25",
            "shell commands of 10-500 characters at COMMAND_TRUNC_LENGTH=25",
            lambda seed: _truncate_batch(seed, "commands"),
        ),
        batch_workload(
            "truncate_long_string",
            "errors-60",
            "error messages at ERROR_MESSAGE_TRUNC_LENGTH=60",
            lambda seed: _truncate_batch(seed, "errors"),
        ),
        batch_workload(
            "truncate_long_string",
            "regions-middle-25",
            "regions and zone lists, truncate_middle=True at 25",
            lambda seed: _truncate_batch(seed, "regions"),
        ),
    ]


# --- system queries (get_cpu_count, get_mem_size_gb, get_parallel_threads, is_process_alive) ---------


def _single_call(function: str, workload_id: str, description: str, args: Callable[[], Args]) -> Workload:
    return Workload(
        function=function,
        id=workload_id,
        modes=ALL_MODES,
        size=None,
        size_unit="",
        description=description,
        data=(),
        build=lambda _paths, _seed: PreparedWorkload(batch=(args(),)),
    )


def _never_alive_pid() -> int:
    """A pid above pid_max: no process can have it, so kill() answers ESRCH every time."""
    try:
        pid_max = int(Path("/proc/sys/kernel/pid_max").read_text().strip())
    except (OSError, ValueError):
        pid_max = 2**22
    return pid_max + 1


def _system_workloads() -> list[Workload]:
    return [
        _single_call("get_cpu_count", "host", "the CPU count of this host (cgroup files, sysfs)", tuple),
        _single_call("get_mem_size_gb", "host", "the memory size of this host (cgroup files, /proc)", tuple),
        _single_call("get_parallel_threads", "default", "get_parallel_threads(None)", lambda: (None,)),
        _single_call(
            "get_parallel_threads",
            "kubernetes",
            "get_parallel_threads('kubernetes')",
            lambda: ("kubernetes",),
        ),
        _single_call("is_process_alive", "own-pid", "the worker's own pid", lambda: (os.getpid(),)),
        _single_call(
            "is_process_alive", "dead-pid", "a pid above pid_max (never alive)", lambda: (_never_alive_pid(),)
        ),
        _single_call("is_process_alive", "pid-1", "pid 1 (init)", lambda: (1,)),
    ]


# --- directories (estimate_fd_for_directory, get_max_workers_for_file_mounts) ------------------------------


def _write_directory(path: Path, _rng: random.Random, entry_count: int) -> None:
    path.mkdir()
    for index in range(entry_count):
        os.close(os.open(path / f"entry-{index:06d}.dat", os.O_CREAT | os.O_WRONLY, 0o644))


def _directory_argument(item_name: str, paths: Mapping[str, Path], _seed: int) -> PreparedWorkload:
    return PreparedWorkload(batch=((str(paths[item_name]),),))


def _file_mounts_argument(item_name: str, paths: Mapping[str, Path], _seed: int) -> PreparedWorkload:
    # A task's file_mounts: destination -> source; a cloud URL is skipped by the isdir check.
    mounts = {"/remote/data": str(paths[item_name]), "/remote/bucket": "s3://sky-bench/data"}
    return PreparedWorkload(batch=((mounts, None),))


def _directory_workloads() -> list[Workload]:
    workloads: list[Workload] = []
    for entry_count, modes in (
        (10, ALL_MODES),
        (1000, ALL_MODES),
        (10_000, DEFAULT_AND_FULL),
        (100_000, DEFAULT_AND_FULL),
    ):
        item = DataItem(
            name=f"dir-{entry_count}",
            params=(("entry_count", entry_count),),
            generate=partial(_write_directory, entry_count=entry_count),
        )
        # Both functions list the same directory; only how it is passed differs.
        for function, description, build in (
            ("estimate_fd_for_directory", f"a directory of {entry_count} entries", _directory_argument),
            (
                "get_max_workers_for_file_mounts",
                f"file mounts: a local directory of {entry_count} entries and a cloud URL",
                _file_mounts_argument,
            ),
        ):
            workloads.append(
                Workload(
                    function=function,
                    id=f"dir-{entry_count}",
                    modes=modes,
                    size=float(entry_count),
                    size_unit="entries",
                    description=description,
                    data=(item,),
                    build=partial(build, item.name),
                    large=entry_count >= 100_000,
                )
            )
    return workloads


# --- the call floor -----------------------------------------------------------------------------------------

NOOP_FUNCTION = "_noop"
NOOP_WORKLOAD = Workload(
    function=NOOP_FUNCTION,
    id="call",
    modes=ALL_MODES,
    size=None,
    size_unit="",
    description="a call that does nothing: the floor of each side",
    data=(),
    build=lambda _paths, _seed: PreparedWorkload(batch=((),)),
)


def all_workloads() -> tuple[Workload, ...]:
    """Every workload of the 12 functions (not the call floor), in registry order."""
    return (
        *_read_last_n_lines_workloads(),
        *_hash_file_workloads(),
        *_find_free_port_workloads(),
        *_string_workloads(),
        *_system_workloads(),
        *_directory_workloads(),
    )
