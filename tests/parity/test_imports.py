"""The three modules import and export the registry's built-in functions (and sky_rs and the reference the
hooks), and sky_rs.pyi declares what sky_rs exports: the stub check."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from harness.functions.registry import builtin_function_names, declared_pairs

STUB = Path(__file__).resolve().parents[2] / "sky_rs.pyi"
HOOK_NAMES = (
    "_get_cpu_count_at",
    "_get_mem_size_gb_at",
    "_get_parallel_threads_with",
    "_get_max_workers_for_file_mounts_with",
    "_is_process_alive_at",
    "_noop",
)


def _rust_side_names() -> list[str]:
    """The functions the built-in pairs take from sky_rs, as their declarations name them."""
    names = []
    for name in builtin_function_names():
        module, attribute = declared_pairs()[name].target("rust")
        assert module == "sky_rs", f"{name}: built-in pairs are ported in sky_rs"
        names.append(attribute)
    return names


def _stub_functions() -> set[str]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_twelve_built_in_pairs() -> None:
    names = builtin_function_names()
    assert len(names) == 12
    assert len(set(names)) == 12


@pytest.mark.parametrize(
    "module_name", ["sky_rs", "harness.functions.reference", "harness.functions.fallback"]
)
def test_module_imports_and_exports_the_twelve_functions(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in builtin_function_names() if not callable(getattr(module, name, None))]
    assert missing == [], f"{module_name} lacks {missing}"


def test_the_stub_declares_every_rust_side_and_hook() -> None:
    missing = sorted((set(_rust_side_names()) | set(HOOK_NAMES)) - _stub_functions())
    assert missing == [], f"sky_rs.pyi lacks {missing}"


def test_the_stub_declares_only_what_sky_rs_exports() -> None:
    sky_rs = importlib.import_module("sky_rs")
    stale = sorted(name for name in _stub_functions() if not callable(getattr(sky_rs, name, None)))
    assert stale == [], f"sky_rs.pyi declares {stale}, which sky_rs does not export"


@pytest.mark.parametrize("module_name", ["sky_rs", "harness.functions.reference"])
def test_module_exports_the_test_hooks(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in HOOK_NAMES if not callable(getattr(module, name, None))]
    assert missing == [], f"{module_name} lacks {missing}"


def test_reference_all_lists_exactly_the_functions_and_hooks() -> None:
    reference = importlib.import_module("harness.functions.reference")
    assert set(builtin_function_names()) | set(HOOK_NAMES) <= set(reference.__all__)


def test_sky_rs_exports_its_interface_extras() -> None:
    sky_rs = importlib.import_module("sky_rs")
    assert isinstance(sky_rs.__version__, str)
    assert isinstance(sky_rs.SUPPORTED_HASH_ALGORITHMS, frozenset)
    # The spec's minimum set (Decision 3, hash_file).
    assert {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"} <= sky_rs.SUPPORTED_HASH_ALGORITHMS
    assert callable(sky_rs.HashResult) or isinstance(sky_rs.HashResult, type)


@pytest.mark.parametrize("module_name", ["sky_rs", "harness.functions.reference"])
def test_noop_returns_none(module_name: str) -> None:
    assert importlib.import_module(module_name)._noop() is None
