"""Bad input gets the error the spec names, the same on both sides: never a panic, a hang or a wrong value."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .support import compare_call, outcome_of, reference_module
from .trees import cgroup_v1_files, cgroup_v2_files, write_tree

LOG = b"one\ntwo\nthree\n"


def _expect(impl: ModuleType, function: str, args: tuple[Any, ...], error_type: type[BaseException]) -> None:
    outcome = outcome_of(lambda: getattr(impl, function)(*args))
    assert outcome.error_type is error_type, f"{function}{args!r} {outcome.describe()}"


@pytest.fixture
def log_file(tmp_path: Path) -> str:
    path = tmp_path / "log.txt"
    path.write_bytes(LOG)
    return str(path)


def test_read_last_n_lines_bad_arguments(impl: ModuleType, tmp_path: Path, log_file: str) -> None:
    _expect(impl, "read_last_n_lines", (str(tmp_path / "missing"), 3), AssertionError)
    _expect(impl, "read_last_n_lines", (str(tmp_path), 3), RuntimeError)
    _expect(impl, "read_last_n_lines", (None, 3), TypeError)
    _expect(impl, "read_last_n_lines", (log_file, 2.5), TypeError)  # fails at slicing in SkyPilot
    _expect(impl, "read_last_n_lines", (log_file, "3"), TypeError)
    _expect(impl, "read_last_n_lines", (log_file, -(2**70)), AssertionError)
    _expect(impl, "read_last_n_lines", (log_file, 3, -1), AssertionError)


def test_read_last_n_lines_broken_symlink_is_not_found(impl: ModuleType, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    expected = f"File not found: {link}"
    outcome = outcome_of(lambda: impl.read_last_n_lines(str(link), 1))
    assert (outcome.error_type, outcome.error_message) == (AssertionError, expected)


def test_read_last_n_lines_huge_n_returns_every_line(impl: ModuleType, log_file: str) -> None:
    assert impl.read_last_n_lines(log_file, 2**62) == ["one\n", "two\n", "three"]


def test_hash_file_bad_arguments(impl: ModuleType, tmp_path: Path, log_file: str) -> None:
    _expect(impl, "hash_file", (str(tmp_path / "missing"), "md5"), FileNotFoundError)
    _expect(impl, "hash_file", (str(tmp_path), "md5"), IsADirectoryError)
    _expect(impl, "hash_file", (None, "md5"), TypeError)
    _expect(impl, "hash_file", (log_file, None), TypeError)
    _expect(impl, "hash_file", (log_file, "not-a-hash"), ValueError)


@pytest.mark.parametrize(
    ("start_port", "error_type"),
    [(-5, OverflowError), (-(2**31), OverflowError), (65535, OSError), (2**31, OSError), ("8000", TypeError)],
)
def test_find_free_port_out_of_range(
    impl: ModuleType, start_port: object, error_type: type[BaseException]
) -> None:
    _expect(impl, "find_free_port", (start_port,), error_type)


@pytest.mark.parametrize("value", [255, None])
def test_base36_encode_non_text(impl: ModuleType, value: object) -> None:
    _expect(impl, "base36_encode", (value,), TypeError)


def test_truncate_long_string_bad_arguments(impl: ModuleType) -> None:
    _expect(impl, "truncate_long_string", (None,), TypeError)
    _expect(impl, "truncate_long_string", ("abc", "5"), TypeError)


@pytest.mark.parametrize("pid", ["1", None, 1.5])
def test_is_process_alive_non_integer(impl: ModuleType, pid: object) -> None:
    _expect(impl, "is_process_alive", (pid,), TypeError)


def test_is_process_alive_bool_is_an_int(impl: ModuleType) -> None:
    """psutil.pid_exists(True) checks pid 1."""
    assert impl.is_process_alive(True) is True
    assert impl.is_process_alive(False) is False


@pytest.mark.parametrize("path", [None, 5.5])
def test_estimate_fd_for_directory_non_string(impl: ModuleType, path: object) -> None:
    _expect(impl, "estimate_fd_for_directory", (path,), TypeError)


@pytest.mark.parametrize(
    "files",
    [
        cgroup_v2_files(cpu_max=None, memory_max=None),  # directories where files belong: unreadable
        cgroup_v1_files(quota=None, period=None, memory_limit=None),
        cgroup_v2_files(cpu_max=b"\xff\xfe 100000", memory_max=b"\xff"),  # not UTF-8
    ],
    ids=["v2 unreadable", "v1 unreadable", "v2 invalid utf-8"],
)
def test_unreadable_cgroup_files_mean_no_limit(
    impl: ModuleType, tmp_path: Path, files: dict[str, Any]
) -> None:
    root = str(write_tree(tmp_path / "cgroup", files))
    assert impl._get_cpu_count_at(root, {}, 6, None) == 6
    assert impl._get_mem_size_gb_at(root, {}, 2 * 1024**3) == 2.0


def test_cgroup_root_that_is_missing_or_a_file(impl: ModuleType, tmp_path: Path) -> None:
    regular_file = tmp_path / "file"
    regular_file.write_bytes(b"")
    for root in (str(tmp_path / "missing"), str(regular_file)):
        assert impl._get_cpu_count_at(root, {}, 6, 3) == 3
        assert impl._get_mem_size_gb_at(root, {}, 1024**3) == 1.0


@pytest.mark.parametrize(
    ("cpu_max", "error_type"),
    [
        ("inf 100000", OverflowError),  # int(inf) in SkyPilot's min(): not caught
        ("100000 nan", ValueError),  # int(nan)
    ],
)
def test_cgroup_quota_that_is_not_finite(
    impl: ModuleType, tmp_path: Path, cpu_max: str, error_type: type[BaseException]
) -> None:
    root = str(write_tree(tmp_path / "cgroup", cgroup_v2_files(cpu_max=cpu_max)))
    _expect(impl, "_get_cpu_count_at", (root, {}, 4, None), error_type)


def test_huge_environment_cpu_count_is_exact() -> None:
    """int(float('1e300')) is a 997-bit int; Rust must not saturate or wrap it."""
    compare_call("_get_cpu_count_at", "/nonexistent", {"SKYPILOT_POD_CPU_CORE_LIMIT": "1e300"}, 4, None)


# --- text that is not valid UTF-8 inside: surrogate-escaped paths and arguments --------------------------


def _undecodable_name(tmp_path: Path) -> str:
    """A directory named with a byte that is not UTF-8, as Python sees it (``os.fsdecode``: a lone
    surrogate)."""
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.mkdir(raw)
    with open(os.path.join(raw, b"log\xff"), "wb") as f:
        f.write(LOG)
    return os.fsdecode(raw)


def test_surrogate_escaped_paths(tmp_path: Path) -> None:
    directory = _undecodable_name(tmp_path)
    log = os.path.join(directory, os.fsdecode(b"log\xff"))
    compare_call("read_last_n_lines", log, 2)
    compare_call("hash_file", log, "md5")
    compare_call("estimate_fd_for_directory", directory)
    # The message names the path as Python prints it, surrogates included.
    compare_call("read_last_n_lines", log + "-missing", 2)
    compare_call("read_last_n_lines", directory, 2)


@pytest.mark.parametrize("max_length", [3, 5, 40])
@pytest.mark.parametrize("truncate_middle", [False, True])
def test_truncate_surrogate_escaped_text(max_length: int, truncate_middle: bool) -> None:
    """sys.argv holds surrogates for bytes that are not UTF-8; SkyPilot truncates commands from it."""
    compare_call("truncate_long_string", "python tr\udce9in.py --epochs 100", max_length, truncate_middle)


def test_hash_file_path_with_nul(tmp_path: Path) -> None:
    """open() raises ValueError('embedded null byte') before any system call."""
    compare_call("hash_file", str(tmp_path / "data\x00"), "md5")
    outcome = outcome_of(lambda: reference_module().hash_file(str(tmp_path / "data\x00"), "md5"))
    assert outcome.error_type is ValueError


# --- lone surrogates the file system encoding cannot carry, and text that is not UTF-8 --------------------

UNENCODABLE = "/tmp/skybench-\ud800"  # os.stat raises UnicodeEncodeError; os.path.exists/isdir say False


def test_an_unencodable_path_does_not_exist(impl: ModuleType, tmp_path: Path) -> None:
    outcome = outcome_of(lambda: impl.read_last_n_lines(UNENCODABLE, 2))
    assert (outcome.error_type, outcome.error_message) == (AssertionError, f"File not found: {UNENCODABLE}")
    assert impl.estimate_fd_for_directory(UNENCODABLE) == 0
    directory = tmp_path / "twenty"
    directory.mkdir()
    for index in range(20):
        (directory / str(index)).write_bytes(b"")
    # 20 entries: 100 descriptors per rsync, (1024 - 100) // 100 = 9; the unencodable source counts none.
    mounts = {"/a": UNENCODABLE, "/b": str(directory)}
    assert impl._get_max_workers_for_file_mounts_with(mounts, "kubernetes", 1024, 8) == 9
    assert impl._get_max_workers_for_file_mounts_with({"/a": UNENCODABLE}, None, 1024, 8) == 7


def test_an_unencodable_path_is_opened_as_python_opens_it(impl: ModuleType) -> None:
    """open() itself raises UnicodeEncodeError; nothing asks os.path.exists first."""
    _expect(impl, "hash_file", (UNENCODABLE, "md5"), UnicodeEncodeError)


def test_an_unencodable_proc_root_matters_only_for_a_live_pid(impl: ModuleType) -> None:
    assert impl._is_process_alive_at(-1, UNENCODABLE) is False
    assert impl._is_process_alive_at(4_194_304 + 1, UNENCODABLE) is False  # beyond pid_max: no such process
    _expect(impl, "_is_process_alive_at", (os.getpid(), UNENCODABLE), UnicodeEncodeError)


def test_an_unencodable_cgroup_root_reads_as_no_cgroup(impl: ModuleType) -> None:
    assert impl._get_cpu_count_at(UNENCODABLE, {}, 6, 3) == 3
    assert impl._get_mem_size_gb_at(UNENCODABLE, {}, 2 * 1024**3) == 2.0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SKYPILOT_POD_CPU_CORE_LIMIT": "\udcff"}, "Failed to parse the number of CPUs from \udcff"),
        ({"SKYPILOT_POD_MEMORY_GB_LIMIT": "4\udcff"}, "Failed to parse the memory size from 4\udcff (GB)"),
        (
            {"SKYPILOT_POD_MEMORY_BYTES_LIMIT": "\ud800"},
            "Failed to parse the memory size from \ud800 (bytes)",
        ),
    ],
)
def test_environment_values_that_are_not_utf8_show_as_python_holds_them(
    impl: ModuleType, environ: dict[str, str], message: str
) -> None:
    """os.environ holds bytes that are not UTF-8 as surrogates ('\\udcff'); the message shows them so."""
    if "SKYPILOT_POD_CPU_CORE_LIMIT" in environ:
        outcome = outcome_of(lambda: impl._get_cpu_count_at("/nonexistent", environ, 4, None))
    else:
        outcome = outcome_of(lambda: impl._get_mem_size_gb_at("/nonexistent", environ, 4))
    assert (outcome.error_type, outcome.error_message) == (ValueError, message)


@pytest.mark.parametrize(
    ("pid", "message"),
    [
        (2**31, "signed integer is greater than maximum"),
        (2**63 - 1, "signed integer is greater than maximum"),
        (2**63, "Python int too large to convert to C long"),
        (2**70, "Python int too large to convert to C long"),
    ],
)
def test_pid_overflow_is_worded_as_os_kill_words_it(impl: ModuleType, pid: int, message: str) -> None:
    for outcome in (
        outcome_of(lambda: impl.is_process_alive(pid)),
        outcome_of(lambda: impl._is_process_alive_at(pid, "/proc")),
    ):
        assert (outcome.error_type, outcome.error_message) == (OverflowError, message)


def test_a_file_that_opens_but_cannot_seek(impl: ModuleType) -> None:
    """A pipe opens (its writer is open) but cannot seek: Python's buffered reader says so, without errno."""
    read_end, write_end = os.pipe()
    try:
        path = f"/proc/self/fd/{read_end}"
        outcome = outcome_of(lambda: impl.read_last_n_lines(path, 1))
    finally:
        os.close(read_end)
        os.close(write_end)
    expected = f"Failed to read last 1 lines from {path}: File or stream is not seekable."
    assert (outcome.error_type, outcome.error_message) == (RuntimeError, expected)
    assert outcome.error is not None
    assert type(outcome.error.__cause__) is io.UnsupportedOperation


def test_the_host_environment_not_utf8_shows_as_os_environ_does() -> None:
    """The public functions read the process environment: b'\\xff' is '\\udcff' in os.environ."""
    script = (
        "import sky_rs, harness.functions.reference as r\n"
        "for f in (sky_rs.get_cpu_count, r.get_cpu_count):\n"
        "    try: f()\n"
        "    except ValueError as e: print(ascii(str(e)))\n"
    )
    environment = {**os.environ, "SKYPILOT_POD_CPU_CORE_LIMIT": os.fsdecode(b"2\xff")}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    expected = ascii("Failed to parse the number of CPUs from 2\udcff")
    assert completed.stdout.splitlines() == [expected, expected], completed.stderr
