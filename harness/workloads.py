"""Transition only: workloads now live beside their pairs (``harness/pairs/``), their types in
``harness.pairs.workload_types``. Import from there; this module re-exports the old names."""

from harness.pairs.io_utils import occupy_ports_ahead
from harness.pairs.workload_types import (
    ALL_MODES,
    DEFAULT_AND_FULL,
    DEFAULT_SCRATCH,
    FULL_ONLY,
    GENERATOR_VERSION,
    NOOP_FUNCTION,
    NOOP_WORKLOAD,
    Adapter,
    Args,
    DataItem,
    Mode,
    PreparedWorkload,
    Workload,
    data_dir_for,
    ensure_data,
    prepare,
)
from harness.registry import all_workloads

__all__ = [
    "ALL_MODES",
    "DEFAULT_AND_FULL",
    "DEFAULT_SCRATCH",
    "FULL_ONLY",
    "GENERATOR_VERSION",
    "NOOP_FUNCTION",
    "NOOP_WORKLOAD",
    "Adapter",
    "Args",
    "DataItem",
    "Mode",
    "PreparedWorkload",
    "Workload",
    "all_workloads",
    "data_dir_for",
    "ensure_data",
    "occupy_ports_ahead",
    "prepare",
]
