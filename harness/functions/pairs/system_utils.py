"""The host pairs (``harness.functions.reference.system_utils``): get_cpu_count, get_mem_size_gb.

Each has one workload, the host itself (cgroup files, sysfs, /proc), as SkyPilot calls them.
"""

from __future__ import annotations

from harness.functions.pairs.declaration import PairDeclaration, builtin_pair
from harness.functions.pairs.workload_types import single_call


def _host_pair(name: str, description: str, owned_message: str) -> PairDeclaration:
    return builtin_pair(
        name,
        (single_call(name, "host", description, tuple),),
        owned_messages=(owned_message,),
        examples=((),),
    )


PAIRS: tuple[PairDeclaration, ...] = (
    _host_pair(
        "get_cpu_count",
        "the CPU count of this host (cgroup files, sysfs)",
        r"Failed to parse the number of CPUs from .*",
    ),
    _host_pair(
        "get_mem_size_gb",
        "the memory size of this host (cgroup files, /proc)",
        r"Failed to parse the memory size from .*",
    ),
)
