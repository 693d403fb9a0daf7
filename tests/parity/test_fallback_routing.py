"""harness.functions.fallback's routing: every argument shape its docstring lists goes to the documented side,
and has the reference's outcome; each function's common shapes (the fast path) and others (the full rules)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.functions import fallback, reference
from harness.functions.registry import builtin_function_names
from harness.results import Impl

from .support import assert_same_outcome, outcome_of

RUST, PYTHON = Impl.RUST, Impl.PYTHON

Call = tuple[str, tuple[Any, ...], dict[str, Any], Impl]


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    fallback.force_python(False)
    fallback.reset_served_counts()
    yield
    fallback.reset_served_counts()


def _io_calls(tmp_path: Path) -> list[Call]:
    log = tmp_path / "log.txt"
    log.write_bytes(b"a\ncaf\xc3\xa9\n")
    path = str(log)
    return [
        ("read_last_n_lines", (path, 1), {}, RUST),
        ("read_last_n_lines", (path, 1), {"encoding": "utf-8", "errors": "replace"}, RUST),
        ("read_last_n_lines", (path, 1), {"encoding": "latin-1"}, RUST),
        ("read_last_n_lines", (path, 1), {"encoding": "UTF8"}, RUST),
        ("read_last_n_lines", (path, 1), {"encoding": "US-ASCII", "errors": "ignore"}, RUST),
        ("read_last_n_lines", (path, 1), {"errors": "strict"}, RUST),
        ("read_last_n_lines", (path, 2**70, 2**70), {}, RUST),  # any int: sky_rs clamps as Python compares
        ("read_last_n_lines", (path, 1), {"encoding": "cp1252"}, PYTHON),
        ("read_last_n_lines", (path, 1), {"errors": "backslashreplace"}, PYTHON),
        ("read_last_n_lines", (path, 1), {"encoding": "no-such-codec"}, PYTHON),
        ("read_last_n_lines", (path, 0), {"errors": ["not", "a", "name"]}, PYTHON),
        ("read_last_n_lines", (log, 1), {}, PYTHON),  # a Path, not a str
        ("read_last_n_lines", (path.encode(), 1), {}, PYTHON),
        ("read_last_n_lines", (path, True), {}, PYTHON),
        ("read_last_n_lines", (path, 1.0), {}, PYTHON),
        ("hash_file", (path, "sha256"), {}, RUST),
        ("hash_file", (path, "SHA256"), {}, RUST),
        ("hash_file", (path, "sha-512"), {}, RUST),
        ("hash_file", (path, "ripemd160"), {}, PYTHON),
        ("hash_file", (path, "BLAKE2B512"), {}, PYTHON),
        ("hash_file", (log, "sha256"), {}, PYTHON),
        ("find_free_port", (0,), {}, RUST),
        ("find_free_port", (2**70,), {}, RUST),
        ("find_free_port", (True,), {}, PYTHON),
        ("find_free_port", (1.5,), {}, PYTHON),
    ]


def _string_calls() -> list[Call]:
    return [
        ("base36_encode", ("ff",), {}, RUST),
        ("base36_encode", (b"ff",), {}, RUST),
        ("base36_encode", (bytearray(b"0x10"),), {}, RUST),
        ("base36_encode", (memoryview(b"ff"),), {}, PYTHON),
        ("base36_encode", (None,), {}, PYTHON),
        ("format_float", (2.25,), {}, RUST),
        ("format_float", (7, 1), {}, RUST),
        ("format_float", (2.25, 2**70), {}, RUST),
        ("format_float", (np.float64(2.25),), {}, RUST),
        ("format_float", (True,), {}, RUST),
        ("format_float", (np.float32(2.5),), {}, PYTHON),
        ("format_float", ("2.5",), {}, PYTHON),
        ("format_float", (2.5, True), {}, PYTHON),
        ("format_float", (2.5, 1.5), {}, PYTHON),
        ("truncate_long_string", ("abc def", 2), {}, RUST),
        ("truncate_long_string", ("abc def", 5, True), {}, RUST),
        ("truncate_long_string", ("abc def", 2**70), {}, RUST),
        ("truncate_long_string", ("abc def", 2, 1), {}, PYTHON),
        ("truncate_long_string", ("abc def", True), {}, PYTHON),
        ("truncate_long_string", ("abc def", np.int64(2)), {}, PYTHON),
        ("truncate_long_string", (b"abc def", 2), {}, PYTHON),
    ]


def _system_calls(tmp_path: Path) -> list[Call]:
    return [
        ("get_cpu_count", (), {}, RUST),
        ("get_mem_size_gb", (), {}, RUST),
        ("get_parallel_threads", (), {}, RUST),
        ("get_parallel_threads", ("kubernetes",), {}, RUST),
        ("get_parallel_threads", (b"kubernetes",), {}, PYTHON),
        ("get_parallel_threads", (5,), {}, PYTHON),
        ("is_process_alive", (1,), {}, RUST),
        ("is_process_alive", (2**70,), {}, RUST),  # Rust raises OverflowError like the reference
        ("is_process_alive", (True,), {}, PYTHON),
        ("is_process_alive", (np.int64(1),), {}, PYTHON),
        ("estimate_fd_for_directory", (str(tmp_path),), {}, RUST),
        ("estimate_fd_for_directory", (tmp_path,), {}, PYTHON),
        ("estimate_fd_for_directory", (str(tmp_path).encode(),), {}, PYTHON),
        ("get_max_workers_for_file_mounts", ({"/dst": str(tmp_path)},), {}, RUST),
        ("get_max_workers_for_file_mounts", ({"/dst": str(tmp_path)}, "kubernetes"), {}, RUST),
        ("get_max_workers_for_file_mounts", ({"/dst": tmp_path},), {}, PYTHON),
        ("get_max_workers_for_file_mounts", ({"/dst": str(tmp_path)}, b"x"), {}, PYTHON),
        ("get_max_workers_for_file_mounts", ([("/dst", str(tmp_path))],), {}, PYTHON),
    ]


def test_every_function_has_routing_cases(tmp_path: Path) -> None:
    calls = _io_calls(tmp_path) + _string_calls() + _system_calls(tmp_path)
    assert {name for name, *_ in calls} == set(builtin_function_names())


@pytest.mark.parametrize("group", ["io", "strings", "system"])
def test_each_shape_goes_to_its_documented_side(group: str, tmp_path: Path) -> None:
    calls = {"io": _io_calls, "strings": lambda _: _string_calls(), "system": _system_calls}[group](tmp_path)
    wrong: list[str] = []
    for name, args, kwargs, side in calls:
        fallback.reset_served_counts()
        expected = outcome_of(partial(getattr(reference, name), *args, **kwargs))
        got = outcome_of(partial(getattr(fallback, name), *args, **kwargs))
        context = f"{name}(*{args!r}, **{kwargs!r})"
        assert_same_outcome(expected, got, context)
        if fallback.last_served(name) is not side or fallback.served_counts() != {name: {side: 1}}:
            wrong.append(f"{context}: served by {fallback.served_counts()}, documented {side}")
    assert wrong == []


def test_a_dict_subclass_of_mounts_reaches_rust_as_a_plain_dict(tmp_path: Path) -> None:
    class Mounts(dict[str, str]):
        def values(self) -> Any:  # what a plain dict would not do
            raise AssertionError("Rust must read a copy")

    mounts = Mounts({"/dst": str(tmp_path)})
    expected = reference.get_max_workers_for_file_mounts(dict(mounts))
    assert fallback.get_max_workers_for_file_mounts(mounts) == expected
    assert fallback.last_served("get_max_workers_for_file_mounts") is RUST
