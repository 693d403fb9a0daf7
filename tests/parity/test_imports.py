"""The three modules import and export the 12 names (and sky_rs and the reference the hooks)."""

from __future__ import annotations

import importlib

import pytest

from harness.reference import FUNCTION_NAMES

HOOK_NAMES = (
    "_get_cpu_count_at",
    "_get_mem_size_gb_at",
    "_get_parallel_threads_with",
    "_get_max_workers_for_file_mounts_with",
    "_is_process_alive_at",
    "_noop",
)


def test_twelve_function_names() -> None:
    assert len(FUNCTION_NAMES) == 12
    assert len(set(FUNCTION_NAMES)) == 12


@pytest.mark.parametrize("module_name", ["sky_rs", "harness.reference", "harness.fallback"])
def test_module_imports_and_exports_the_twelve_functions(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in FUNCTION_NAMES if not callable(getattr(module, name, None))]
    assert missing == [], f"{module_name} lacks {missing}"


@pytest.mark.parametrize("module_name", ["sky_rs", "harness.reference"])
def test_module_exports_the_test_hooks(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in HOOK_NAMES if not callable(getattr(module, name, None))]
    assert missing == [], f"{module_name} lacks {missing}"


def test_reference_all_lists_exactly_the_functions_and_hooks() -> None:
    reference = importlib.import_module("harness.reference")
    assert set(FUNCTION_NAMES) | set(HOOK_NAMES) <= set(reference.__all__)


def test_sky_rs_exports_its_interface_extras() -> None:
    sky_rs = importlib.import_module("sky_rs")
    assert isinstance(sky_rs.__version__, str)
    assert isinstance(sky_rs.SUPPORTED_HASH_ALGORITHMS, frozenset)
    # The spec's minimum set (Decision 3, hash_file).
    assert {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"} <= sky_rs.SUPPORTED_HASH_ALGORITHMS
    assert callable(sky_rs.HashResult) or isinstance(sky_rs.HashResult, type)


@pytest.mark.parametrize("module_name", ["sky_rs", "harness.reference"])
def test_noop_returns_none(module_name: str) -> None:
    assert importlib.import_module(module_name)._noop() is None
