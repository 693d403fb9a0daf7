"""The pair registry: every declared pair (the 12 built-in ones, and any a user's module declares).

A pair module exports ``PAIRS: tuple[PairDeclaration, ...]`` (``harness.functions.pairs.declaration``). The
built-in
modules are ``BUILTIN_PAIR_MODULES``; more come from ``register_pairs(module)``, the ``--pairs MODULE``
option, the ``SKYBENCH_PAIRS`` environment variable (comma-separated module names) and ``[tool.skybench]
pairs = [...]`` in the current directory's ``pyproject.toml``, read on first use. Registering a module puts
it in ``SKYBENCH_PAIRS`` (and its folder on ``PYTHONPATH``), so a timing worker started afterwards loads
the same declarations. Callables are resolved lazily, in the process that calls them.
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from harness.functions.claims import Claim, load_claims
from harness.functions.pairs.declaration import FromClaimsCsv, PairDeclaration, ParityRules
from harness.functions.pairs.workload_types import NOOP_FUNCTION, NOOP_WORKLOAD, Mode, Workload
from harness.results import Impl

DEFAULT_MODULES: Mapping[Impl, str] = {Impl.RUST: "sky_rs", Impl.PYTHON: "harness.functions.reference"}
# The third side: the dispatching wrapper callers use, always this tree's, whatever modules the others use.
FALLBACK_MODULE = "harness.functions.fallback"
# In the spec's order (../shared/spec/functions.md, section 1): one module per group of
# harness.functions.reference.
BUILTIN_PAIR_MODULES: tuple[str, ...] = (
    "harness.functions.pairs.io_utils",
    "harness.functions.pairs.string_utils",
    "harness.functions.pairs.system_utils",
    "harness.functions.pairs.process_utils",
)
PAIRS_ENV = "SKYBENCH_PAIRS"
PYPROJECT = "pyproject.toml"


class UnknownNameError(ValueError):
    """A function or workload id that the registry does not know."""


class PairsError(ValueError):
    """A pair module that cannot be registered: unknown, declaring no pairs, a duplicate name, a bad field."""


@dataclass(frozen=True)
class Pair:
    """One function: its claim and its workloads (the callables are resolved per process)."""

    function: str
    claim: Claim | None
    workloads: tuple[Workload, ...]

    def workloads_for(self, mode: Mode) -> tuple[Workload, ...]:
        return tuple(workload for workload in self.workloads if mode in workload.modes)


class _Declarations:
    """The registered declarations, in registration order; the built-in ones load on first use."""

    def __init__(self) -> None:
        self.pairs: dict[str, tuple[str, PairDeclaration]] = {}  # name -> (module, declaration)
        self.modules: list[str] = []
        self.configured = False

    def add_module(self, module_name: str) -> tuple[str, ...]:
        if module_name in self.modules:
            return tuple(name for name, (module, _) in self.pairs.items() if module == module_name)
        declarations = _declarations_of(module_name)
        for declaration in declarations:
            if declaration.name in self.pairs:
                owner = self.pairs[declaration.name][0]
                raise PairsError(f"pair {declaration.name} of {module_name} is already declared by {owner}")
        self.modules.append(module_name)
        self.pairs.update((d.name, (module_name, d)) for d in declarations)
        return tuple(declaration.name for declaration in declarations)


_registered = _Declarations()


def _declarations_of(module_name: str) -> tuple[PairDeclaration, ...]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            raise PairsError(f"no pair module {module_name!r} on the import path") from error
        raise PairsError(f"pair module {module_name}: {error}") from error
    except Exception as error:  # a declaration that fails its own checks raises while the module runs
        raise PairsError(f"pair module {module_name}: {type(error).__name__}: {error}") from error
    declared = getattr(module, "PAIRS", None)
    if not isinstance(declared, tuple | list) or not declared:
        raise PairsError(f"pair module {module_name} declares no pairs (a non-empty tuple PAIRS)")
    for index, declaration in enumerate(declared):
        if not isinstance(declaration, PairDeclaration):
            kind = type(declaration).__name__
            raise PairsError(f"{module_name}.PAIRS[{index}] is a {kind}, not a PairDeclaration")
    names = [declaration.name for declaration in declared]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise PairsError(f"pair module {module_name} declares {', '.join(duplicates)} more than once")
    return tuple(declared)


def _builtins_loaded() -> _Declarations:
    if not _registered.modules:
        for module_name in BUILTIN_PAIR_MODULES:
            _registered.add_module(module_name)
    return _registered


def _loaded() -> _Declarations:
    _builtins_loaded()
    if not _registered.configured:
        _registered.configured = True
        try:
            for module_name in configured_pair_modules():
                _register(module_name)
        except PairsError:
            _registered.configured = False  # later uses fail the same way: never a pair silently missing
            raise
    return _registered


def configured_pair_modules(directory: Path | None = None) -> tuple[str, ...]:
    """Pair modules named by ``SKYBENCH_PAIRS`` and by ``pyproject.toml``'s ``[tool.skybench] pairs``."""
    from_env = [name.strip() for name in os.environ.get(PAIRS_ENV, "").split(",") if name.strip()]
    path = (directory or Path.cwd()) / PYPROJECT
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get("tool", {}).get("skybench", {})
    except FileNotFoundError:
        return tuple(dict.fromkeys(from_env))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PairsError(f"{path}: {error}") from error
    listed = table.get("pairs", []) if isinstance(table, dict) else None
    if not isinstance(listed, list) or not all(isinstance(name, str) and name for name in listed):
        raise PairsError(f"{path}: [tool.skybench] pairs must be a list of module names")
    return tuple(dict.fromkeys([*from_env, *listed]))


def _share_with_workers(module_name: str) -> None:
    """Names the module in SKYBENCH_PAIRS, and its import root on PYTHONPATH, for processes started later."""
    extra = [name for name in _registered.modules if name not in BUILTIN_PAIR_MODULES]
    os.environ[PAIRS_ENV] = ",".join(extra)
    module_file = getattr(sys.modules.get(module_name), "__file__", None)
    if module_file is None:
        return
    root = Path(module_file).resolve().parent
    for _ in range(module_name.count(".") + (Path(module_file).name == "__init__.py")):
        root = root.parent
    paths = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    if str(root) not in paths:
        # Appended: a worker's own tree (its working directory, first on its path) still wins.
        os.environ["PYTHONPATH"] = os.pathsep.join([*paths, str(root)])


def _register(module_name: str) -> tuple[str, ...]:
    names = _registered.add_module(module_name)
    if module_name not in BUILTIN_PAIR_MODULES:
        _share_with_workers(module_name)
    return names


def register_pairs(module_name: str) -> tuple[str, ...]:
    """Registers the pairs ``module_name`` declares; returns their names. Raises PairsError (one line)."""
    _loaded()
    return _register(module_name)


def reset_registered_pairs() -> None:
    """Forgets every registered module (the built-in ones reload on next use). For tests."""
    _registered.pairs.clear()
    _registered.modules.clear()
    _registered.configured = False


def declared_pairs() -> Mapping[str, PairDeclaration]:
    """Every registered declaration by name, built-in first, in registration order."""
    return {name: declaration for name, (_, declaration) in _loaded().pairs.items()}


def function_names() -> tuple[str, ...]:
    return tuple(_loaded().pairs)


def builtin_function_names() -> tuple[str, ...]:
    """The 12 pairs of ``BUILTIN_PAIR_MODULES`` (``harness.functions.fallback`` routes these), reading no
    configuration: importing the fallback never fails on a user's pyproject.toml."""
    pairs = _builtins_loaded().pairs
    return tuple(name for name, (module, _) in pairs.items() if module in BUILTIN_PAIR_MODULES)


class _RegisteredNames(Sequence[str]):
    """The registered pairs' names, read live: a module registered later is in it from then on."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return function_names()[index]

    def __len__(self) -> int:
        return len(function_names())

    def __iter__(self) -> Iterator[str]:
        return iter(function_names())

    def __contains__(self, name: object) -> bool:
        return name in _loaded().pairs

    def __repr__(self) -> str:
        return repr(function_names())


FUNCTIONS: Sequence[str] = _RegisteredNames()


def _claim_of(declaration: PairDeclaration, claims: Mapping[str, Claim]) -> Claim | None:
    if isinstance(declaration.claim, FromClaimsCsv):
        return claims.get(declaration.name)
    return declaration.claim


def build_registry() -> Mapping[str, Pair]:
    """Pairs by function name: the built-in ones in spec order, then registered ones."""
    claims = load_claims()
    return {
        name: Pair(function=name, claim=_claim_of(declaration, claims), workloads=declaration.workloads)
        for name, declaration in declared_pairs().items()
    }


def all_workloads() -> tuple[Workload, ...]:
    """Every workload of every registered pair (not the call floor), in registry order."""
    return tuple(workload for declaration in declared_pairs().values() for workload in declaration.workloads)


def declaration_of(function: str) -> PairDeclaration:
    declaration = declared_pairs().get(function)
    if declaration is None:
        raise UnknownNameError(f"unknown function {function!r}; choose from: {', '.join(FUNCTIONS)}")
    return declaration


def parity_rules(function: str) -> ParityRules:
    """How the two sides of ``function`` must agree (the call floor's: the defaults)."""
    return ParityRules() if function == NOOP_FUNCTION else declaration_of(function).parity


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
    candidates = (NOOP_WORKLOAD,) if function == NOOP_FUNCTION else declaration_of(function).workloads
    for workload in candidates:
        if workload.id == workload_id:
            return workload
    known = ", ".join(workload.id for workload in candidates)
    raise UnknownNameError(f"unknown workload {workload_id!r} of {function}; choose from: {known}")


def _target(function: str, impl: Impl, modules: Mapping[Impl, str]) -> tuple[str, str]:
    """(module, attribute): the declared side, unless ``modules`` points this side elsewhere (stand-ins)."""
    if function == NOOP_FUNCTION:
        return modules[impl], function
    declaration = declaration_of(function)
    if modules[impl] != DEFAULT_MODULES[impl]:
        return modules[impl], function
    return declaration.target(impl.value)


def resolve_callable(
    function: str, impl: Impl, modules: Mapping[Impl, str] = DEFAULT_MODULES
) -> Callable[..., Any]:
    """The function of one side, imported now. Raises ImportError / AttributeError with the module named."""
    module_name, attribute = _target(function, impl, modules)
    module = importlib.import_module(module_name)
    try:
        target = getattr(module, attribute)
    except AttributeError as error:
        raise AttributeError(f"{module_name} ({impl}) has no function {attribute!r}") from error
    if not callable(target):
        raise TypeError(f"{module_name}.{attribute} is not callable")
    return target  # type: ignore[no-any-return]


def resolve_side(
    function: str, impl: Impl, modules: Mapping[Impl, str] = DEFAULT_MODULES
) -> Callable[..., Any]:
    """``resolve_callable`` for any of the three sides; the fallback's function is ``FALLBACK_MODULE``'s.

    The timing worker and the peak-RSS process both resolve through here, so they measure the same call.
    """
    if impl is Impl.FALLBACK:
        return resolve_callable(function, Impl.PYTHON, {Impl.PYTHON: FALLBACK_MODULE})
    return resolve_callable(function, impl, modules)
