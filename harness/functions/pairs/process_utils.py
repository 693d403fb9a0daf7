"""The process pairs (``harness.functions.reference.process_utils``): get_parallel_threads, is_process_alive,
get_max_workers_for_file_mounts, estimate_fd_for_directory.

Their workloads: cloud names, pids (this one, one that can never be alive, init), and seeded directories of
10 to 100,000 entries that both directory functions list.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from harness.functions.pairs.declaration import PairDeclaration, builtin_pair
from harness.functions.pairs.workload_types import (
    ALL_MODES,
    DEFAULT_AND_FULL,
    PreparedWorkload,
    Workload,
    generated_item,
    single_call,
)


def _never_alive_pid() -> int:
    """A pid above pid_max: no process can have it, so kill() answers ESRCH every time."""
    try:
        pid_max = int(Path("/proc/sys/kernel/pid_max").read_text().strip())
    except (OSError, ValueError):
        pid_max = 2**22
    return pid_max + 1


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


# Both directory functions list the same directories; only how the directory is passed differs.
_DIRECTORY_FUNCTIONS = {
    "estimate_fd_for_directory": ("a directory of {entries} entries", _directory_argument),
    "get_max_workers_for_file_mounts": (
        "file mounts: a local directory of {entries} entries and a cloud URL",
        _file_mounts_argument,
    ),
}


def _directory_workloads(function: str) -> list[Workload]:
    description, build = _DIRECTORY_FUNCTIONS[function]
    workloads: list[Workload] = []
    for entry_count, modes in (
        (10, ALL_MODES),
        (1000, ALL_MODES),
        (10_000, DEFAULT_AND_FULL),
        (100_000, DEFAULT_AND_FULL),
    ):
        item = generated_item(f"dir-{entry_count}", _write_directory, entry_count=entry_count)
        workloads.append(
            Workload(
                function=function,
                id=f"dir-{entry_count}",
                modes=modes,
                size=float(entry_count),
                size_unit="entries",
                description=description.format(entries=entry_count),
                data=(item,),
                build=partial(build, item.name),
                large=entry_count >= 100_000,
            )
        )
    return workloads


PAIRS: tuple[PairDeclaration, ...] = (
    builtin_pair(
        "get_parallel_threads",
        [
            single_call("get_parallel_threads", "default", "get_parallel_threads(None)", lambda: (None,)),
            single_call(
                "get_parallel_threads",
                "kubernetes",
                "get_parallel_threads('kubernetes')",
                lambda: ("kubernetes",),
            ),
        ],
        examples=((None,), ("kubernetes",), ("aws",), ("",)),
    ),
    builtin_pair(
        "is_process_alive",
        [
            single_call("is_process_alive", "own-pid", "the worker's own pid", lambda: (os.getpid(),)),
            single_call(
                "is_process_alive",
                "dead-pid",
                "a pid above pid_max (never alive)",
                lambda: (_never_alive_pid(),),
            ),
            single_call("is_process_alive", "pid-1", "pid 1 (init)", lambda: (1,)),
        ],
        examples=((0,), (-1,), (1,), (2**31,)),
    ),
    builtin_pair(
        "get_max_workers_for_file_mounts",
        _directory_workloads("get_max_workers_for_file_mounts"),
        examples=(({},), ({"/dst": "s3://bucket/data"}, "kubernetes"), ({"/dst": "/nonexistent"}, None)),
    ),
    builtin_pair(
        "estimate_fd_for_directory",
        _directory_workloads("estimate_fd_for_directory"),
        examples=(("",), ("/nonexistent/skybench-example",), ("s3://bucket/x",)),
    ),
)
