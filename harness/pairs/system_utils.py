"""The host pairs (``harness.reference.system_utils``): get_cpu_count, get_mem_size_gb.

Each has one workload, the host itself (cgroup files, sysfs, /proc), as SkyPilot calls them.
"""

from __future__ import annotations

from harness.pairs.declaration import FROM_CLAIMS_CSV, ErrorMatch, PairDeclaration, ParityRules
from harness.pairs.workload_types import single_call


def _builtin(name: str, description: str, owned_message: str) -> PairDeclaration:
    return PairDeclaration(
        name=name,
        python=f"harness.reference:{name}",
        rust=f"sky_rs:{name}",
        workloads=(single_call(name, "host", description, tuple),),
        claim=FROM_CLAIMS_CSV,
        parity=ParityRules(errors=ErrorMatch.OWNED_MESSAGE, owned_messages=(owned_message,)),
        examples=((),),
    )


PAIRS: tuple[PairDeclaration, ...] = (
    _builtin(
        "get_cpu_count",
        "the CPU count of this host (cgroup files, sysfs)",
        r"Failed to parse the number of CPUs from .*",
    ),
    _builtin(
        "get_mem_size_gb",
        "the memory size of this host (cgroup files, /proc)",
        r"Failed to parse the memory size from .*",
    ),
)
