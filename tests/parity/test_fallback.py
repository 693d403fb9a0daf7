"""harness.fallback: Rust when it supports the call, Python otherwise or when forced; counts who served."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import fallback, reference
from harness.results import Impl

from .support import comparable_value, rust_module


@pytest.fixture(autouse=True)
def clean_counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(fallback.FORCE_PYTHON_ENV, raising=False)
    fallback.reset_served_counts()
    yield
    fallback.reset_served_counts()


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


def _call(name: str, args: tuple[Any, ...]) -> object:
    function: Callable[..., object] = getattr(fallback, name)
    return function(*args)


def test_every_function_is_wrapped(sample_calls: dict[str, tuple[Any, ...]]) -> None:
    assert set(sample_calls) == set(reference.FUNCTION_NAMES) == set(fallback.FUNCTIONS)


def test_nothing_served_before_a_call() -> None:
    assert fallback.served_counts() == {}
    assert all(fallback.last_served(name) is None for name in reference.FUNCTION_NAMES)


def test_dispatch_picks_rust_for_supported_calls(sample_calls: dict[str, tuple[Any, ...]]) -> None:
    assert fallback.RUST_AVAILABLE
    rust_module()  # fails here if sky_rs does not import
    for name, args in sample_calls.items():
        _call(name, args)
    served_by_python = [name for name in sample_calls if fallback.last_served(name) is not Impl.RUST]
    assert served_by_python == [], (
        "sky_rs lacks these functions, or the fallback declined supported arguments"
    )


def test_results_equal_the_reference(sample_calls: dict[str, tuple[Any, ...]]) -> None:
    for name, args in sample_calls.items():
        if name == "find_free_port":
            continue  # port 0 always binds; the row test covers the value
        expected = getattr(reference, name)(*args)
        assert comparable_value(_call(name, args)) == comparable_value(expected), name


def test_force_python_is_read_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fallback.FORCE_PYTHON_ENV, "1")
    assert fallback.base36_encode("ff") == "73"
    assert fallback.last_served("base36_encode") is Impl.PYTHON
    monkeypatch.setenv(fallback.FORCE_PYTHON_ENV, "0")
    fallback.base36_encode("ff")
    assert fallback.last_served("base36_encode") is (Impl.RUST if fallback.RUST_AVAILABLE else Impl.PYTHON)


def test_force_python_serves_all_twelve_with_python(
    monkeypatch: pytest.MonkeyPatch, sample_calls: dict[str, tuple[Any, ...]]
) -> None:
    monkeypatch.setenv(fallback.FORCE_PYTHON_ENV, "1")
    for name, args in sample_calls.items():
        _call(name, args)
    assert fallback.served_counts() == {name: {Impl.PYTHON: 1} for name in sample_calls}


def test_counts_add_up_and_reset() -> None:
    for _ in range(3):
        fallback.format_float(1.5)
    fallback.format_float(2.5, 0)
    counts = fallback.served_counts()
    assert sum(counts["format_float"].values()) == 4
    counts["format_float"].clear()  # a copy: the counter itself is unchanged
    assert sum(fallback.served_counts()["format_float"].values()) == 4
    fallback.reset_served_counts()
    assert fallback.served_counts() == {}
    assert fallback.last_served("format_float") is None


def test_counters_are_thread_safe() -> None:
    calls_per_thread = 500
    threads = [
        threading.Thread(
            target=lambda: [fallback.truncate_long_string("abc def", 2) for _ in range(calls_per_thread)]
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fallback.served_counts()["truncate_long_string"].values()) == 4 * calls_per_thread


def test_a_missing_rust_function_is_served_by_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(rust_module(), "base36_encode", raising=False)
    assert fallback.base36_encode("0x10") == "g"
    assert fallback.last_served("base36_encode") is Impl.PYTHON


def test_rust_errors_propagate_without_a_python_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(hex_str: str) -> str:
        raise RuntimeError("from rust")

    monkeypatch.setattr(rust_module(), "base36_encode", failing, raising=False)
    with pytest.raises(RuntimeError, match="from rust"):
        fallback.base36_encode("ff")
    assert fallback.served_counts()["base36_encode"] == {Impl.RUST: 1}


def _unsupported_calls(tmp_path: Path) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    import numpy as np  # noqa: PLC0415

    log = tmp_path / "log.txt"
    log.write_bytes(b"caf\xe9\n")
    return [
        ("read_last_n_lines", (str(log), 1), {"encoding": "cp1252"}),
        ("read_last_n_lines", (str(log), 1), {"errors": "backslashreplace"}),
        ("read_last_n_lines", (str(log), 1), {"encoding": "no-such-codec"}),
        ("read_last_n_lines", (str(log), 0), {"errors": ["not", "a", "name"]}),
        ("read_last_n_lines", (log, 1), {}),  # a Path, not a str
        ("read_last_n_lines", (str(log), 2**70), {}),
        ("hash_file", (str(log), "ripemd160"), {}),
        ("hash_file", (str(log), "BLAKE2B512"), {}),
        ("find_free_port", (2**70,), {}),
        ("format_float", (np.float32(2.5),), {}),
        ("format_float", ("2.5",), {}),
        ("base36_encode", (memoryview(b"ff"),), {}),
        ("format_float", (2.5, 2**70), {}),
        ("truncate_long_string", ("abc def", 2, 1), {}),
        ("truncate_long_string", ("abc def", 2**70), {}),
        ("get_parallel_threads", (b"kubernetes",), {}),
        ("is_process_alive", (True,), {}),
        ("estimate_fd_for_directory", (tmp_path,), {}),
        ("get_max_workers_for_file_mounts", ({"/dst": tmp_path},), {}),
    ]


def _value_or_error(function: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
    try:
        return comparable_value(function(*args, **kwargs))
    except Exception as e:
        return (type(e), str(e))


def test_unsupported_arguments_go_to_python(tmp_path: Path) -> None:
    wrong: list[str] = []
    for name, args, kwargs in _unsupported_calls(tmp_path):
        fallback.reset_served_counts()
        expected = _value_or_error(getattr(reference, name), args, kwargs)
        got = _value_or_error(getattr(fallback, name), args, kwargs)
        if fallback.last_served(name) is not Impl.PYTHON or got != expected:
            wrong.append(f"{name}{args!r}{kwargs!r}: {fallback.last_served(name)}, {got!r} != {expected!r}")
    assert wrong == []


@pytest.mark.parametrize(
    "codec",
    [
        {"encoding": "latin-1"},
        {"encoding": "UTF8"},
        {"encoding": "US-ASCII", "errors": "ignore"},
        {"errors": "strict"},
    ],
)
def test_codecs_rust_implements_go_to_rust(tmp_path: Path, codec: dict[str, str]) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(b"a\ncaf\xc3\xa9\n")
    expected = _value_or_error(reference.read_last_n_lines, (str(log), 1), codec)
    assert _value_or_error(fallback.read_last_n_lines, (str(log), 1), codec) == expected
    assert fallback.last_served("read_last_n_lines") is Impl.RUST


def test_arguments_rust_implements_go_to_rust(tmp_path: Path) -> None:
    import numpy as np  # noqa: PLC0415

    log = tmp_path / "log.txt"
    log.write_bytes(b"abc")
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("hash_file", (str(log), "SHA256")),
        ("hash_file", (str(log), "sha-512")),
        ("base36_encode", (b"ff",)),
        ("base36_encode", (bytearray(b"0x10"),)),
        ("format_float", (np.float64(2.25),)),
        ("format_float", (True,)),
    ]
    for name, args in calls:
        expected = _value_or_error(getattr(reference, name), args, {})
        assert _value_or_error(getattr(fallback, name), args, {}) == expected, (name, args)
        assert fallback.last_served(name) is Impl.RUST, (name, args)
