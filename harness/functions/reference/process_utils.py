"""Thread pools, descriptor budgets and pid checks: SkyPilot 0.14.1 ``sky/utils/subprocess_utils.py``
(spec sections 2.9-2.12).

The public functions read the host; the ``_with``/``_at`` hooks take the CPU count, the RLIMIT_NOFILE soft
limit or the proc root as arguments (spec Decision 4).
"""

from __future__ import annotations

import errno
import logging
import operator
import os
import resource
from collections.abc import Mapping

logger = logging.getLogger(__name__)

HOST_PROC_ROOT = "/proc"
KUBERNETES_THREAD_MULTIPLIER = 4
FD_RESERVE = 100  # descriptors kept back for everything but rsync
MIN_FD_PER_RSYNC = 5
FD_PER_DIRECTORY_ENTRY = 5
LOW_FD_LIMIT_WARNING_BELOW = 1024
RLIM_INFINITY = -1  # resource.RLIM_INFINITY on Linux, as the hooks receive it

_low_fd_limit_warned = False


def get_parallel_threads(cloud_str: str | None = None) -> int:
    """max(4, online CPUs - 1), times 4 for Kubernetes (spec 2.9); not cgroup- or affinity-aware."""
    return _get_parallel_threads_with(cloud_str, os.cpu_count())


def get_max_workers_for_file_mounts(
    common_file_mounts: Mapping[str, str], cloud_str: str | None = None
) -> int:
    """Parallel rsync workers the descriptor limit allows, capped by the thread count (spec 2.11)."""
    soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft_limit == resource.RLIM_INFINITY:
        soft_limit = RLIM_INFINITY
    return _get_max_workers_for_file_mounts_with(common_file_mounts, cloud_str, soft_limit, os.cpu_count())


def is_process_alive(pid: int) -> bool:
    """``psutil.pid_exists`` semantics on Linux (spec 2.10): zombies alive, thread ids and pid <= 0 not."""
    return _is_process_alive_at(pid, HOST_PROC_ROOT)


def estimate_fd_for_directory(path: str) -> int:
    """5 descriptors per top-level entry of a directory, 0 for anything else (spec 2.12)."""
    if os.path.isdir(path):
        return FD_PER_DIRECTORY_ENTRY * len(os.listdir(path))
    return 0


def _thread_multiplier(cloud_str: str | None) -> int:
    if cloud_str and cloud_str.lower() == "kubernetes":
        return KUBERNETES_THREAD_MULTIPLIER
    return 1


def _get_parallel_threads_with(cloud_str: str | None, online_cpus: int | None) -> int:
    """``get_parallel_threads`` with ``os.cpu_count()`` injected (None counts as 1)."""
    cpu_count = 1 if online_cpus is None else online_cpus
    return max(4, cpu_count - 1) * _thread_multiplier(cloud_str)


def _get_max_workers_for_file_mounts_with(
    common_file_mounts: Mapping[str, str],
    cloud_str: str | None,
    nofile_soft_limit: int,
    online_cpus: int | None,
) -> int:
    """``get_max_workers_for_file_mounts`` with the NOFILE soft limit (-1 = unlimited) and CPUs injected.

    Deviation (spec Decision 3): an unlimited soft limit gives the thread cap; SkyPilot returns 1.
    """
    global _low_fd_limit_warned  # noqa: PLW0603 (SkyPilot warns once per process)
    thread_cap = _get_parallel_threads_with(cloud_str, online_cpus)
    if nofile_soft_limit == RLIM_INFINITY:
        return thread_cap
    if nofile_soft_limit < LOW_FD_LIMIT_WARNING_BELOW and not _low_fd_limit_warned:
        logger.warning(
            "Open file descriptor limit (%d) is low. File sync to remote clusters may be slow. "
            "Consider increasing the limit using `ulimit -n <number>` or modifying system limits.",
            nofile_soft_limit,
        )
        _low_fd_limit_warned = True
    fd_per_rsync = MIN_FD_PER_RSYNC
    for source in common_file_mounts.values():
        fd_per_rsync = max(fd_per_rsync, estimate_fd_for_directory(source))
    workers = (nofile_soft_limit - FD_RESERVE) // fd_per_rsync
    return min(max(workers, 1), thread_cap)


def _is_process_alive_at(pid: int, proc_root: str) -> bool:
    """``is_process_alive`` with ``/proc`` injected (the Tgid check reads ``{proc_root}/{pid}/status``)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # EPERM: a process exists that we may not signal.
    return _is_thread_group_leader(pid, proc_root)


def _is_thread_group_leader(pid: int, proc_root: str) -> bool:
    """False for a thread id (Tgid != pid); if status is unreadable, psutil's fallback: pid in /proc."""
    pid = operator.index(pid)  # psutil reads True's status as pid 1's
    status_path = os.path.join(proc_root, str(pid), "status")
    try:
        with open(status_path, "rb") as f:
            for line in f:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1]) == pid
    except (OSError, ValueError, IndexError):
        pass
    return _pid_listed(pid, proc_root)


def _pid_listed(pid: int, proc_root: str) -> bool:
    try:
        return str(pid) in os.listdir(proc_root)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return False
        raise
