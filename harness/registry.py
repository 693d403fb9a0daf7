"""The pair registry: for each of the 12 functions, its two implementations, its claim and its workloads.

Implementations are resolved lazily by module name (``sky_rs`` for Rust, ``harness.reference`` for Python), so
importing the registry never imports the extension, and tests can point a side at a stand-in module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.claims import Claim, load_claims
from harness.reference import FUNCTION_NAMES
from harness.results import Impl
from harness.workloads import NOOP_FUNCTION, NOOP_WORKLOAD, Mode, Workload, all_workloads

DEFAULT_MODULES: Mapping[Impl, str] = {Impl.RUST: "sky_rs", Impl.PYTHON: "harness.reference"}

# Spec order (../shared/spec/functions.md, section 1); the reference is where the list is kept.
FUNCTIONS: tuple[str, ...] = FUNCTION_NAMES


class UnknownNameError(ValueError):
    """A function or workload id that the registry does not know."""


@dataclass(frozen=True)
class Pair:
    """One function: its claim and its workloads (the callables are resolved per process)."""

    function: str
    claim: Claim | None
    workloads: tuple[Workload, ...]

    def workloads_for(self, mode: Mode) -> tuple[Workload, ...]:
        return tuple(workload for workload in self.workloads if mode in workload.modes)


def build_registry() -> Mapping[str, Pair]:
    """Pairs by function name, in spec order."""
    claims = load_claims()
    workloads = all_workloads()
    return {
        function: Pair(
            function=function,
            claim=claims.get(function),
            workloads=tuple(workload for workload in workloads if workload.function == function),
        )
        for function in FUNCTIONS
    }


def validate_functions(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The names, checked against the registry; raises UnknownNameError listing the valid ones."""
    unknown = [name for name in names if name not in FUNCTIONS]
    if unknown:
        raise UnknownNameError(
            f"unknown function(s) {', '.join(unknown)}; choose from: {', '.join(FUNCTIONS)}"
        )
    return tuple(dict.fromkeys(names))


def find_workload(function: str, workload_id: str) -> Workload:
    """The workload with this id; ``_noop`` has the single workload ``call``."""
    if function == NOOP_FUNCTION:
        candidates: tuple[Workload, ...] = (NOOP_WORKLOAD,)
    elif function in FUNCTIONS:
        candidates = tuple(workload for workload in all_workloads() if workload.function == function)
    else:
        raise UnknownNameError(f"unknown function {function!r}; choose from: {', '.join(FUNCTIONS)}")
    for workload in candidates:
        if workload.id == workload_id:
            return workload
    known = ", ".join(workload.id for workload in candidates)
    raise UnknownNameError(f"unknown workload {workload_id!r} of {function}; choose from: {known}")


def resolve_callable(
    function: str, impl: Impl, modules: Mapping[Impl, str] = DEFAULT_MODULES
) -> Callable[..., Any]:
    """The function of one side, imported now. Raises ImportError / AttributeError with the module named."""
    if function != NOOP_FUNCTION and function not in FUNCTIONS:
        raise UnknownNameError(f"unknown function {function!r}")
    module_name = modules[impl]
    module = importlib.import_module(module_name)
    try:
        target = getattr(module, function)
    except AttributeError as error:
        raise AttributeError(f"{module_name} ({impl}) has no function {function!r}") from error
    if not callable(target):
        raise TypeError(f"{module_name}.{function} is not callable")
    return target  # type: ignore[no-any-return]
