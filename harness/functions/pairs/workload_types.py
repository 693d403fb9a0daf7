"""What a workload is, and the seeded scratch data it runs on: shared by every pair declaration.

A workload is a stable id plus the recipe for its arguments. Any process (the bench, or a timing worker that
another build's Python runs for the gate) rebuilds the same arguments from the id and the seed: files and
directories are generated into a scratch folder on first use and reused afterwards. Every generated item has a
sidecar marker recording the generator version, the seed and its parameters; when they change it is rebuilt.

A workload is always a *batch*: a tuple of argument tuples. The timing loop makes one pass over the batch with
the same code on both sides, and per-call time is batch time / batch length. A single call is a batch of one.
"""

from __future__ import annotations

import fcntl
import json
import random
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Protocol

# Bump when any generator of a pair module changes what it writes: every run then rebuilds its data.
GENERATOR_VERSION = 1
DEFAULT_SCRATCH = Path(".skybench/workloads")

KB = 1_000
MB = 1_000_000
GB = 1_000_000_000
KIB = 1024
MIB = 1024 * 1024
GIB = 1024 * 1024 * 1024
STRING_BATCH_LENGTH = 1000


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


class Closeable(Protocol):
    """What a prepared workload holds and releases: a socket, a port window's reservation."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class DataItem:
    """A file or directory under the scratch folder, written by ``generate(path, rng)``."""

    name: str
    params: tuple[tuple[str, Any], ...]
    generate: Callable[[Path, random.Random], None]


def generated_item(name: str, write: Callable[..., None], **params: Any) -> DataItem:
    """The item ``write(path, rng, **params)`` writes. Its marker records exactly the arguments it was
    written with, so changing one of them rebuilds it."""
    return DataItem(name=name, params=tuple(params.items()), generate=partial(write, **params))


@dataclass
class PreparedWorkload:
    """The arguments of one workload, ready to call; ``close()`` releases what it holds (sockets)."""

    batch: tuple[Args, ...]
    # Wraps each side's function the same way, e.g. to finalise a hash object as SkyPilot's callers do.
    adapter: Adapter | None = None
    resources: list[Closeable] = field(default_factory=list)  # closed with the workload (held ports)

    def close(self) -> None:
        for resource in self.resources:
            resource.close()
        self.resources.clear()


Builder = Callable[[Mapping[str, Path], int], PreparedWorkload]  # (data paths by item name, seed)


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
    build: Builder
    large: bool = False  # peak resident memory is measured for large workloads only


def batch_workload(
    function: str,
    workload_id: str,
    description: str,
    make: Callable[[int], tuple[Args, ...]],
    modes: frozenset[Mode] = ALL_MODES,
) -> Workload:
    """A workload of in-memory arguments: ``make(seed)`` builds the batch (no scratch data)."""
    return Workload(
        function=function,
        id=workload_id,
        modes=modes,
        size=None,
        size_unit="",
        description=description,
        data=(),
        build=lambda _paths, seed: PreparedWorkload(batch=make(seed)),
    )


def single_call(function: str, workload_id: str, description: str, args: Callable[[], Args]) -> Workload:
    """A batch of one call whose arguments ``args()`` gives in the process that runs it."""
    return batch_workload(function, workload_id, description, lambda _seed: (args(),))


def batch_rng(seed: int, name: str) -> random.Random:
    """The random source of one generated batch or data item: the same seed and name give the same one."""
    return random.Random(f"{seed}:{name}")


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
        partial_path = path.with_name(path.name + ".partial")
        _remove(marker)
        _remove(partial_path)
        item.generate(partial_path, batch_rng(seed, item.name))
        _remove(path)
        partial_path.rename(path)
        marker.write_text(json.dumps(expected), encoding="utf-8")
    return path


def prepare(workload: Workload, scratch: Path, seed: int) -> PreparedWorkload:
    """Generates the workload's data if needed and builds its arguments."""
    paths = {item.name: ensure_data(item, scratch, seed) for item in workload.data}
    return workload.build(paths, seed)


# --- the call floor -----------------------------------------------------------------------------------------

NOOP_FUNCTION = "_noop"
NOOP_WORKLOAD = single_call(NOOP_FUNCTION, "call", "a call that does nothing: the floor of each side", tuple)
