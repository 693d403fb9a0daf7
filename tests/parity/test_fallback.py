"""harness.functions.fallback: Rust when it supports the call, else Python (or forced); counts who served."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.functions import fallback, reference
from harness.functions.registry import builtin_function_names
from harness.results import Impl

from .support import comparable_value, rust_module

RUST, PYTHON = Impl.RUST, Impl.PYTHON
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    fallback.force_python(False)
    fallback.reset_served_counts()
    yield
    fallback.force_python(False)
    fallback.reset_served_counts()


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """monkeypatch for sky_rs; afterwards the real functions are restored and bound again."""
    yield monkeypatch
    monkeypatch.undo()
    fallback.force_python(False)


@pytest.fixture
def sample_calls(tmp_path: Path) -> dict[str, tuple[Any, ...]]:
    """One ordinary call of each of the 12 functions, with arguments Rust supports."""
    log = tmp_path / "log.txt"
    log.write_bytes(b"a\nb\nc\n")
    return {
        "read_last_n_lines": (str(log), 2),
        "hash_file": (str(log), "sha256"),
        "find_free_port": (0,),
        "base36_encode": ("ff",),
        "format_float": (2.25,),
        "truncate_long_string": ("hello world foo", 12),
        "get_cpu_count": (),
        "get_mem_size_gb": (),
        "get_parallel_threads": ("kubernetes",),
        "is_process_alive": (1,),
        "get_max_workers_for_file_mounts": ({"/dst": str(tmp_path)},),
        "estimate_fd_for_directory": (str(tmp_path),),
    }


def _run_python(script: str, environment: dict[str, str] | None = None) -> str:
    """The stripped stdout of ``script`` in a fresh interpreter, which must exit 0."""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def _call(name: str, args: tuple[Any, ...]) -> object:
    function: Callable[..., object] = getattr(fallback, name)
    return function(*args)


def test_every_function_is_wrapped(sample_calls: dict[str, tuple[Any, ...]]) -> None:
    assert set(sample_calls) == set(builtin_function_names()) == set(fallback.FUNCTIONS)
    assert all(fallback.FUNCTIONS[name] is getattr(fallback, name) for name in sample_calls)


def test_nothing_served_before_a_call() -> None:
    assert fallback.served_counts() == {}
    assert all(fallback.last_served(name) is None for name in builtin_function_names())
    assert fallback.last_served("no_such_function") is None


def test_dispatch_picks_rust_for_supported_calls(sample_calls: dict[str, tuple[Any, ...]]) -> None:
    assert fallback.RUST_AVAILABLE
    rust_module()  # fails here if sky_rs does not import
    for name, args in sample_calls.items():
        _call(name, args)
    served_by_python = [name for name in sample_calls if fallback.last_served(name) is not RUST]
    assert served_by_python == [], (
        "sky_rs lacks these functions, or the fallback declined supported arguments"
    )
    assert fallback.served_counts() == {name: {RUST: 1} for name in sample_calls}


def test_results_equal_the_reference(sample_calls: dict[str, tuple[Any, ...]]) -> None:
    for name, args in sample_calls.items():
        if name == "find_free_port":
            continue  # port 0 always binds; the row test covers the value
        expected = getattr(reference, name)(*args)
        assert comparable_value(_call(name, args)) == comparable_value(expected), name


def test_force_python_flips_every_function_both_ways(sample_calls: dict[str, tuple[Any, ...]]) -> None:
    fallback.force_python(True)
    assert fallback.python_forced()
    for name, args in sample_calls.items():
        _call(name, args)
    assert fallback.served_counts() == {name: {PYTHON: 1} for name in sample_calls}
    fallback.force_python(False)
    assert not fallback.python_forced()
    for name, args in sample_calls.items():
        _call(name, args)
    assert fallback.served_counts() == {name: {RUST: 1, PYTHON: 1} for name in sample_calls}
    assert all(fallback.last_served(name) is RUST for name in sample_calls)


def test_forcing_python_restores_the_previous_setting() -> None:
    with fallback.forcing_python():
        fallback.base36_encode("ff")
        assert fallback.last_served("base36_encode") is PYTHON
        with fallback.forcing_python(False):
            fallback.base36_encode("ff")
            assert fallback.last_served("base36_encode") is RUST
        assert fallback.python_forced()
    assert not fallback.python_forced()
    fallback.base36_encode("ff")
    assert fallback.served_counts()["base36_encode"] == {PYTHON: 1, RUST: 2}


def test_the_environment_variable_is_read_once_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fallback.FORCE_PYTHON_ENV, "1")  # after import: no effect
    fallback.base36_encode("ff")
    assert fallback.last_served("base36_encode") is RUST
    script = (
        "from harness.functions import fallback\n"
        "fallback.base36_encode('ff')\n"
        "print(fallback.python_forced(), fallback.last_served('base36_encode'))\n"
    )
    for value, expected in (("1", "True python"), ("0", "False rust")):
        assert _run_python(script, {**os.environ, fallback.FORCE_PYTHON_ENV: value}) == expected


def test_counts_and_last_served_follow_each_call() -> None:
    # (arguments, the side that serves them): exact-bool truncate_middle goes to Rust, an int to Python.
    truncate: Callable[..., str] = fallback.truncate_long_string
    calls: list[tuple[tuple[Any, ...], Impl]] = [(("abc def", 2), RUST), (("abc def", 2, 1), PYTHON)]
    calls += [(("abc def", 2, 0), PYTHON)]
    calls += [(("abc def", 2, True), RUST), (("abc def", 2, 1), PYTHON)]
    expected = {RUST: 0, PYTHON: 0}
    for args, side in calls:
        truncate(*args)
        expected[side] += 1
        assert fallback.last_served("truncate_long_string") is side, args
        counts = fallback.served_counts()["truncate_long_string"]
        assert counts == {impl: calls for impl, calls in expected.items() if calls}, args
    copy = fallback.served_counts()
    copy["truncate_long_string"].clear()  # a copy: the counters are unchanged
    assert fallback.served_counts()["truncate_long_string"] == {RUST: 2, PYTHON: 3}
    fallback.reset_served_counts()
    assert fallback.served_counts() == {}
    assert fallback.last_served("truncate_long_string") is None


def test_counters_are_exact_under_many_threads() -> None:
    threads_count, pairs_per_thread = 8, 2000
    start = threading.Barrier(threads_count)

    truncate: Callable[..., str] = fallback.truncate_long_string

    def work() -> None:
        start.wait()
        for _ in range(pairs_per_thread):
            truncate("abc def", 2)  # Rust
            truncate("abc def", 2, 1)  # Python
            fallback.format_float(2.25)  # Rust

    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=work) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous_interval)
    total = threads_count * pairs_per_thread
    assert fallback.served_counts() == {
        "truncate_long_string": {RUST: total, PYTHON: total},
        "format_float": {RUST: total},
    }
    assert fallback.last_served("format_float") is RUST


def test_a_function_sky_rs_lacks_is_served_by_python(rebinding: pytest.MonkeyPatch) -> None:
    rebinding.delattr(rust_module(), "base36_encode")
    fallback.force_python(False)  # looks sky_rs's functions up again
    assert fallback.base36_encode("0x10") == "g"
    assert fallback.last_served("base36_encode") is PYTHON
    assert fallback.served_counts() == {"base36_encode": {PYTHON: 1}}


def test_rust_errors_propagate_without_a_python_retry(rebinding: pytest.MonkeyPatch) -> None:
    rust_calls: list[str] = []

    def failing(hex_str: str) -> str:
        rust_calls.append(hex_str)
        raise RuntimeError("from rust")

    rebinding.setattr(rust_module(), "base36_encode", failing)
    fallback.force_python(False)
    with pytest.raises(RuntimeError, match="from rust"):
        fallback.base36_encode("ff")
    assert rust_calls == ["ff"]
    assert fallback.served_counts() == {"base36_encode": {RUST: 1}}
    assert fallback.last_served("base36_encode") is RUST


def test_callers_get_the_rust_entries_of_sky_rs_dispatch() -> None:
    dispatch = rust_module().dispatch
    for name in builtin_function_names():
        entry = getattr(dispatch, name)
        assert getattr(fallback, name) is entry, name
        assert fallback.FUNCTIONS[name] is entry, name


def test_the_dispatch_module_refuses_unknown_names_and_uncallable_routes() -> None:
    dispatch = rust_module().dispatch
    with pytest.raises(ValueError, match='no function named "nope"'):
        dispatch.bind("nope", reference.format_float, True)
    with pytest.raises(ValueError, match='no function named "nope"'):
        dispatch.calls("nope")
    with pytest.raises(TypeError, match="callable"):
        dispatch.bind("format_float", 42, True)


def test_an_entry_with_no_routing_function_raises_instead_of_guessing() -> None:
    # Before the fallback binds it, an entry's fast path is off and it has nowhere to send the call.
    script = (
        "import sky_rs\n"
        "try:\n"
        "    sky_rs.dispatch.format_float(2.5)\n"
        "except RuntimeError as error:\n"
        "    print(error)\n"
    )
    assert "has no routing function" in _run_python(script)


@pytest.mark.parametrize(
    "hide", ["import sky_rs; del sky_rs.dispatch", "import sys; sys.modules['sky_rs'] = None"]
)
def test_without_the_rust_entries_python_entries_route_and_count(hide: str) -> None:
    script = (
        f"{hide}\n"
        "from harness.functions import fallback\n"
        "entry = fallback.truncate_long_string\n"
        "print(entry.__name__, fallback.FUNCTIONS['truncate_long_string'] is entry)\n"
        "entry('abc def', 2); entry('abc def', 2, 1)\n"
        "print(fallback.last_served('truncate_long_string'))\n"
        "print(sorted((i.value, n) for i, n in fallback.served_counts()['truncate_long_string'].items()))\n"
        "fallback.reset_served_counts(); print(fallback.served_counts())\n"
    )
    lines = _run_python(script).splitlines()
    rust_served = 1 if "del sky_rs.dispatch" in hide else 0
    expected_counts = [("python", 1), ("rust", 1)] if rust_served else [("python", 2)]
    assert lines == ["truncate_long_string True", "python", str(expected_counts), "{}"]
