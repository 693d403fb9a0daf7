"""CPU and memory limits with cgroup awareness: SkyPilot 0.14.1 ``common_utils`` (spec sections 2.7-2.8).

The public functions read the host; the ``_at`` hooks take the cgroup root, the environment and the host
figures as arguments, so tests can drive them against fake cgroup trees (spec Decision 4).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import psutil

HOST_CGROUP_ROOT = "/sys/fs/cgroup"
CPU_LIMIT_ENV = "SKYPILOT_POD_CPU_CORE_LIMIT"
MEMORY_GB_LIMIT_ENV = "SKYPILOT_POD_MEMORY_GB_LIMIT"
MEMORY_BYTES_LIMIT_ENV = "SKYPILOT_POD_MEMORY_BYTES_LIMIT"
_BYTES_PER_GIB = 1024**3


def get_cpu_count() -> int:
    """CPUs this process may use: env override, else min(online, affinity, floor(cgroup quota)) (spec 2.7)."""
    online_cpus = psutil.cpu_count()
    if online_cpus is None:
        # SkyPilot fails the same way, inside min(None, ...).
        raise TypeError("psutil.cpu_count() could not determine the number of CPUs")
    affinity_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return _get_cpu_count_at(HOST_CGROUP_ROOT, os.environ, online_cpus, affinity_cpus)


def get_mem_size_gb() -> float:
    """Memory in GiB: env overrides, else min(host total, cgroup limit) (spec 2.8)."""
    return _get_mem_size_gb_at(HOST_CGROUP_ROOT, os.environ, psutil.virtual_memory().total)


def _get_cpu_count_at(
    cgroup_root: str, environ: Mapping[str, str], online_cpus: int, affinity_cpus: int | None
) -> int:
    """``get_cpu_count`` with the cgroup root, environment, online CPUs and affinity size injected."""
    override = environ.get(CPU_LIMIT_ENV)
    if override is not None:
        try:
            return int(float(override))
        except ValueError as e:
            raise ValueError(f"Failed to parse the number of CPUs from {override}") from e
    cpu_count = online_cpus
    if affinity_cpus is not None:
        cpu_count = min(cpu_count, affinity_cpus)
    cgroup_cpus = _cgroup_cpu_limit(cgroup_root)
    if cgroup_cpus is not None:
        # A floor, as in SkyPilot: a 0.5-CPU quota gives 0.
        cpu_count = min(cpu_count, int(cgroup_cpus))
    return cpu_count


def _get_mem_size_gb_at(cgroup_root: str, environ: Mapping[str, str], host_total_bytes: int) -> float:
    """``get_mem_size_gb`` with the cgroup root, environment and host memory (bytes) injected."""
    gb_override = environ.get(MEMORY_GB_LIMIT_ENV)
    if gb_override is not None:
        try:
            return float(gb_override)
        except ValueError as e:
            raise ValueError(f"Failed to parse the memory size from {gb_override} (GB)") from e
    bytes_override = environ.get(MEMORY_BYTES_LIMIT_ENV)
    if bytes_override is not None:
        try:
            return float(bytes_override) / _BYTES_PER_GIB
        except ValueError as e:
            raise ValueError(f"Failed to parse the memory size from {bytes_override} (bytes)") from e
    memory_bytes = host_total_bytes
    cgroup_bytes = _cgroup_memory_limit_bytes(cgroup_root)
    if cgroup_bytes is not None:
        memory_bytes = min(memory_bytes, cgroup_bytes)
    return memory_bytes / _BYTES_PER_GIB


def _is_cgroup_v2(cgroup_root: str) -> bool:
    return os.path.isfile(os.path.join(cgroup_root, "cgroup.controllers"))


def _read_stripped(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def _cgroup_cpu_limit(cgroup_root: str) -> float | None:
    """The cgroup CPU quota in cores, or None for no limit or an unreadable/invalid file.

    Deviation (spec Decision 3): a v2 period of 0 means no limit; SkyPilot raises ZeroDivisionError.
    """
    try:
        if _is_cgroup_v2(cgroup_root):
            quota_text, period_text = _read_stripped(os.path.join(cgroup_root, "cpu.max")).split()
            if quota_text == "max":
                return None
            quota = float(quota_text)
            period = float(period_text)
            if period == 0:
                return None
            # `quota > 0`, not `quota <= 0`: a NaN quota means no limit, as in SkyPilot.
            return quota / period if quota > 0 else None
        quota = float(_read_stripped(os.path.join(cgroup_root, "cpu", "cpu.cfs_quota_us")))
        period = float(_read_stripped(os.path.join(cgroup_root, "cpu", "cpu.cfs_period_us")))
        # -1 means "no quota" in v1.
        return quota / period if (quota > 0 and period > 0) else None
    except (OSError, ValueError):
        return None


def _cgroup_memory_limit_bytes(cgroup_root: str) -> int | None:
    """The cgroup memory limit in bytes, or None for no limit or an unreadable/invalid file."""
    if _is_cgroup_v2(cgroup_root):
        path = os.path.join(cgroup_root, "memory.max")
    else:
        path = os.path.join(cgroup_root, "memory", "memory.limit_in_bytes")
    try:
        text = _read_stripped(path)
        if text == "max" or not text:
            return None
        limit_bytes = int(text)
        return limit_bytes if limit_bytes > 0 else None
    except (OSError, ValueError):
        return None
