"""The Python reference: the 12 functions with SkyPilot 0.14.1 semantics and the project's deviations.

The behaviour oracle is ``../shared/spec/functions.md``; ``sky_rs`` exports the same names and hooks
(docs/interfaces.md section 1). The list of functions is the registry's
(``harness.functions.registry``, declared in
``harness/functions/pairs/``).
"""

from harness.functions.reference.io_utils import find_free_port, hash_file, read_last_n_lines
from harness.functions.reference.process_utils import (
    _get_max_workers_for_file_mounts_with,
    _get_parallel_threads_with,
    _is_process_alive_at,
    estimate_fd_for_directory,
    get_max_workers_for_file_mounts,
    get_parallel_threads,
    is_process_alive,
)
from harness.functions.reference.string_utils import base36_encode, format_float, truncate_long_string
from harness.functions.reference.system_utils import (
    _get_cpu_count_at,
    _get_mem_size_gb_at,
    get_cpu_count,
    get_mem_size_gb,
)


def _noop() -> None:
    """Does nothing: the call floor of the Python side."""


__all__ = [
    "_get_cpu_count_at",
    "_get_max_workers_for_file_mounts_with",
    "_get_mem_size_gb_at",
    "_get_parallel_threads_with",
    "_is_process_alive_at",
    "_noop",
    "base36_encode",
    "estimate_fd_for_directory",
    "find_free_port",
    "format_float",
    "get_cpu_count",
    "get_max_workers_for_file_mounts",
    "get_mem_size_gb",
    "get_parallel_threads",
    "hash_file",
    "is_process_alive",
    "read_last_n_lines",
    "truncate_long_string",
]
