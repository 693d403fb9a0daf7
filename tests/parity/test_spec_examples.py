"""Every example row of the spec's tables (../shared/spec/functions.md), on the reference and on sky_rs.

Rows whose arguments the spec lets Rust decline (a codec sky_rs does not implement, a non-numeric
``format_float`` argument, a non-string ``cloud_str``) run on the reference and on
``harness.functions.fallback``, which
must route them to Python.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import harness.functions.fallback
from harness.results import Impl

from .support import Outcome, comparable_value, compare_call, outcome_of, reference_module
from .trees import cgroup_v1_files, cgroup_v2_files, make_directory_with_entries, write_tree

FIVE_LINES = b"line1\nline2\nline3\nline4\nline5\n"
INVALID_UTF8 = b"ok\n\xff\xfeabc\n\xe2\x82\n"
GIB = 1024**3


@dataclass(frozen=True)
class Raises:
    """An expected exception; ``message`` is checked exactly when the spec gives SkyPilot's text."""

    error_type: type[BaseException]
    message: str | None = None


def check(outcome: Outcome, expected: object) -> None:
    if isinstance(expected, Raises):
        assert outcome.error_type is expected.error_type, outcome.describe()
        if expected.message is not None:
            assert outcome.error_message == expected.message
    else:
        assert not outcome.raised, outcome.describe()
        assert comparable_value(outcome.value) == comparable_value(expected), outcome.describe()


@pytest.fixture(params=["reference", "fallback"])
def python_routed(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """The reference, and harness.functions.fallback (checked to have served these calls with Python)."""
    if request.param == "reference":
        yield reference_module()
        return
    harness.functions.fallback.reset_served_counts()
    yield harness.functions.fallback
    served = harness.functions.fallback.served_counts()
    assert served, "the fallback served nothing"
    assert all(set(per_impl) == {Impl.PYTHON} for per_impl in served.values()), served


# --- 2.1 read_last_n_lines -------------------------------------------------------------------------------

READ_ROWS: list[tuple[bytes, int, object]] = [
    (FIVE_LINES, 2, ["line4\n", "line5"]),
    (FIVE_LINES, 10, ["line1\n", "line2\n", "line3\n", "line4\n", "line5"]),
    (b"line1\nline2\nline3\nline4\nline5", 3, ["line3\n", "line4\n", "line5"]),
    (b"a\r\nb\r\nc\r\n", 2, ["b\n", "c"]),
    (b"a\r\r\nb\r", 3, ["a\n", "b"]),
    (b"a\rb\nc", 3, ["a\rb\n", "c"]),
    (b"\n", 1, [""]),
    (b"\n\n\n", 2, ["\n", ""]),
    (b"", 3, []),
    (INVALID_UTF8, 3, ["ok\n", "\ufffd\ufffdabc\n", "\ufffd"]),
    (b"caf\xe9\n", 1, ["caf\ufffd"]),
    (FIVE_LINES, 0, []),
    (FIVE_LINES, -1, Raises(AssertionError, "n must be non-negative. Got -1")),
]


@pytest.mark.parametrize(("content", "n", "expected"), READ_ROWS)
def test_read_last_n_lines_rows(
    impl: ModuleType, tmp_path: Path, content: bytes, n: int, expected: object
) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(content)
    check(outcome_of(lambda: impl.read_last_n_lines(str(path), n)), expected)


@pytest.mark.parametrize("chunk_size", [1, 7, 8192, 2**20])
def test_read_last_n_lines_does_not_depend_on_chunk_size(
    impl: ModuleType, tmp_path: Path, chunk_size: int
) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(FIVE_LINES)
    assert impl.read_last_n_lines(str(path), 2, chunk_size) == ["line4\n", "line5"]


def test_read_last_n_lines_rejects_chunk_size_zero(impl: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(FIVE_LINES)
    expected = Raises(AssertionError, "chunk_size must be positive. Got 0")
    check(outcome_of(lambda: impl.read_last_n_lines(str(path), 3, 0)), expected)


def test_read_last_n_lines_missing_path(impl: ModuleType, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.log")
    expected = Raises(AssertionError, f"File not found: {missing}")
    check(outcome_of(lambda: impl.read_last_n_lines(missing, 3)), expected)


def test_read_last_n_lines_directory(impl: ModuleType, tmp_path: Path) -> None:
    outcome = outcome_of(lambda: impl.read_last_n_lines(str(tmp_path), 3))
    assert outcome.error_type is RuntimeError, outcome.describe()
    assert outcome.error_message.startswith(f"Failed to read last 3 lines from {tmp_path}: [Errno 21]")
    assert isinstance(outcome.error, RuntimeError)
    assert isinstance(outcome.error.__cause__, IsADirectoryError), "the OSError must be chained"


CODEC_ROWS: list[tuple[bytes, int, dict[str, str], object]] = [
    (INVALID_UTF8, 2, {"errors": "ignore"}, ["abc\n", ""]),
    (INVALID_UTF8, 2, {"errors": "strict"}, Raises(UnicodeDecodeError)),
    (b"caf\xe9\n", 1, {"encoding": "latin-1"}, ["café"]),
]


@pytest.mark.parametrize("row", CODEC_ROWS)
def test_read_last_n_lines_codec_rows(
    impl: ModuleType, tmp_path: Path, row: tuple[bytes, int, dict[str, str], object]
) -> None:
    content, n, codec, expected = row
    path = tmp_path / "log.txt"
    path.write_bytes(content)
    check(outcome_of(lambda: impl.read_last_n_lines(str(path), n, **codec)), expected)


def test_read_last_n_lines_other_codecs_via_python(python_routed: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(b"x\ncaf\x80\xff\n")
    lines = python_routed.read_last_n_lines(str(path), 1, encoding="cp1252", errors="backslashreplace")
    assert lines == ["caf€ÿ"]
    lines = python_routed.read_last_n_lines(str(path), 1, errors="backslashreplace")
    assert lines == ["caf\\x80\\xff"]


# --- 2.2 hash_file ----------------------------------------------------------------------------------------

HASH_ROWS: list[tuple[bytes, str, str, int]] = [
    (FIVE_LINES, "md5", "6e138f7a4db066d60dbeef2ce34f3ed5", 16),
    (FIVE_LINES, "sha256", "77165950de0a3f78fa118b964335e26deb3c895a7de50035bb5f8505a19f19cf", 32),
    (
        FIVE_LINES,
        "sha512",
        "340368e48e61b51898b605952ed832b927e298426449b1e990a7a7fa9637da5ad9fd230bae133cb8c7196ebc3f1e11ef"
        "45510d5872aec1aa0feb29464bb04d05",
        64,
    ),
    (FIVE_LINES, "sha1", "01595d07cc3cc7681352a8ca4662e0f7496fe208", 20),
    (b"", "md5", "d41d8cd98f00b204e9800998ecf8427e", 16),
]


@pytest.mark.parametrize("row", HASH_ROWS)
def test_hash_file_rows(impl: ModuleType, tmp_path: Path, row: tuple[bytes, str, str, int]) -> None:
    content, algorithm, hexdigest, digest_size = row
    path = tmp_path / "data"
    path.write_bytes(content)
    result = impl.hash_file(str(path), algorithm)
    assert result.hexdigest() == hexdigest
    assert result.digest() == bytes.fromhex(hexdigest)
    assert result.name == algorithm
    assert result.digest_size == digest_size


def test_hash_file_unknown_algorithm(impl: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(FIVE_LINES)
    expected = Raises(ValueError, "unsupported hash type nope")
    check(outcome_of(lambda: impl.hash_file(str(path), "nope")), expected)


def test_hash_file_opens_the_file_before_looking_up_the_algorithm(impl: ModuleType, tmp_path: Path) -> None:
    check(outcome_of(lambda: impl.hash_file(str(tmp_path / "missing"), "nope")), Raises(FileNotFoundError))


def test_hash_file_directory(impl: ModuleType, tmp_path: Path) -> None:
    check(outcome_of(lambda: impl.hash_file(str(tmp_path), "md5")), Raises(IsADirectoryError))


@pytest.mark.parametrize("spelling", ["SHA256", "Sha256", "sha-256"])
def test_hash_file_accepts_hashlib_spellings(impl: ModuleType, tmp_path: Path, spelling: str) -> None:
    """The spec ran 'SHA256'; OpenSSL's names are case-insensitive and hashlib reports the canonical name."""
    path = tmp_path / "data"
    path.write_bytes(FIVE_LINES)
    result = impl.hash_file(str(path), spelling)
    assert (result.name, result.hexdigest()) == ("sha256", HASH_ROWS[1][2])


@pytest.mark.parametrize("spelling", ["Sha512_224", "sHa512_256", "SHA512_224", "sha512-256"])
def test_hash_file_resolves_names_as_hashlib_does(tmp_path: Path, spelling: str) -> None:
    """hashlib (OpenSSL 3.0 here) rejects mixed-case 'Sha512_224' but takes 'SHA512_224': found by the
    hash_file property; sky_rs must accept and reject the same spellings."""
    path = tmp_path / "data"
    path.write_bytes(b"abc")
    compare_call("hash_file", str(path), spelling)


def test_hash_file_hashlib_only_algorithm_via_python(python_routed: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"abc")
    result = python_routed.hash_file(str(path), "ripemd160")
    assert result.hexdigest() == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"


# --- 2.3 find_free_port -----------------------------------------------------------------------------------


def _free_port_pair() -> int:
    """A port p such that p and p + 1 are free now (a race with other processes is possible, but rare)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("", 0))
            port = int(probe.getsockname()[1])
        if port < 65533 and reference_module().find_free_port(port + 1) == port + 1:
            return port
    pytest.fail("no pair of free ports found")


@pytest.mark.parametrize(
    ("start_port", "expected"),
    [
        (0, 0),
        (65535, Raises(OSError, "No free ports available.")),
        (70000, Raises(OSError, "No free ports available.")),
        (-5, Raises(OverflowError)),
    ],
)
def test_find_free_port_rows(impl: ModuleType, start_port: int, expected: object) -> None:
    check(outcome_of(lambda: impl.find_free_port(start_port)), expected)


def test_find_free_port_top_of_range(impl: ModuleType) -> None:
    if reference_module().find_free_port(65534) != 65534:
        pytest.fail("port 65534 is taken on this host; the row cannot be checked")
    assert impl.find_free_port(65534) == 65534


@pytest.mark.parametrize("held_on", ["0.0.0.0", "127.0.0.1"])
def test_find_free_port_skips_a_listening_port(impl: ModuleType, held_on: str) -> None:
    port = _free_port_pair()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind((held_on, port))
        held.listen()
        assert impl.find_free_port(port) == port + 1


def test_find_free_port_skips_a_port_in_time_wait(impl: ModuleType) -> None:
    """Without SO_REUSEADDR a bind fails on a port in TIME_WAIT; Rust's TcpListener would take it."""
    port = _free_port_pair()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the side that closes first keeps port `port` in TIME_WAIT
        client.close()
    assert impl.find_free_port(port) == port + 1


# --- 2.4 base36_encode ------------------------------------------------------------------------------------

BASE36_ROWS: list[tuple[str, object]] = [
    ("ff", "73"),
    ("0x10", "g"),
    ("100", "74"),
    ("0", "0"),
    ("deadbeef", "1ps9wxb"),
    ("f" * 32, "f5lxx1zz5pnorynqglhzmsp33"),
    ("174c94f5c7f5a11941cab1d8069bf820", "1dnnp4655ofxd5nvtxhl1rhuo"),
    ("77fe611e20f1bd65209f766f67abc3c1", "73qoaddned4hf8r951m65curl"),
    (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "5oaq0bjhj6un82wg98mgigso5q7qlhc63je4gw7ivixqqhkd3p",
    ),
    ("1" * 33, "g5zekuxkpakgttrptpbzlx0cx"),
    # What int(x, 16) accepts (Decision 3): whitespace, sign, 0X, single underscores, any case.
    (" \n0XFF\t", "73"),
    ("+f_f", "73"),
    ("-0", "0"),
    ("1" + "f" * 32, "ub7vu3zybfbdjxbgx6zz9le67"),
    ("", Raises(ValueError)),
    ("xyz", Raises(ValueError)),
    ("0x", Raises(ValueError)),
    ("ff ff", Raises(ValueError)),
    ("0x0x10", Raises(ValueError)),
    ("f__f", Raises(ValueError)),
    # Deviation: non-ASCII digits raise ValueError (SkyPilot reads '١٢' as 0x12).
    ("١٢", Raises(ValueError)),
]


@pytest.mark.parametrize(("hex_str", "expected"), BASE36_ROWS)
def test_base36_encode_rows(impl: ModuleType, hex_str: str, expected: object) -> None:
    check(outcome_of(lambda: impl.base36_encode(hex_str)), expected)


def test_base36_row_for_129_bits_is_right() -> None:
    """Guards the hand-computed row above: 0x1fff...f (33 digits) = 2**129 - 1."""
    value = 2**129 - 1
    digits = ""
    while value:
        value, remainder = divmod(value, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[remainder] + digits
    assert dict(BASE36_ROWS)["1" + "f" * 32] == digits


# --- 2.5 format_float -------------------------------------------------------------------------------------

FORMAT_ROWS: list[tuple[tuple[Any, ...], object]] = [
    ((1,), "1"),
    ((2.0,), "2"),
    ((2.5,), "2.5"),
    ((2.25,), "2.2"),
    ((0.25,), "0.2"),
    ((2.35,), "2.4"),
    ((0.05,), "0.1"),
    ((0.15,), "0.1"),
    ((-1.25,), "-1.2"),
    ((1234.5678,), "1234.6"),
    ((1234567.89, 2), "1234567.89"),
    ((0.123, 2), "0.12"),
    ((3.14159, 0), "3"),
    ((2.5, 0), "2"),
    ((3.5, 0), "4"),
    ((62.5, 0), "62"),
    ((15.999, 1), "16.0"),
    ((0.96, 1), "1.0"),
    ((0.5, 3), "0.500"),
    ((1e-7,), "0.0"),
    ((-0.0,), "-0"),
    ((1.5e20,), "150000000000000000000"),
    ((1e20,), "100000000000000000000"),
    ((2**53 + 1,), "9007199254740993"),
    ((float(2**53 + 1),), "9007199254740992"),
    ((True,), "True"),
    ((False,), "False"),
    ((math.nan,), "nan"),
    ((math.inf,), "inf"),
    ((-math.inf,), "-inf"),
    ((0.5,), "0.5"),
    ((16.0,), "16"),
    ((7.5,), "7.5"),
    ((7, 3), "7"),
    ((2.0, 5), "2"),
    ((7, -1), "7"),  # precision matters only for a fractional float
    ((2**100,), str(2**100)),
    ((-(2**70),), str(-(2**70))),
    ((2.5, -1), Raises(ValueError)),
]


@pytest.mark.parametrize(("args", "expected"), FORMAT_ROWS)
def test_format_float_rows(impl: ModuleType, args: tuple[Any, ...], expected: object) -> None:
    check(outcome_of(lambda: impl.format_float(*args)), expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((2.5, True), Raises(ValueError)),
        ((2.5, 1.5), Raises(ValueError)),
        (("3.5",), Raises(AttributeError)),
    ],
)
def test_format_float_python_only_rows(
    python_routed: ModuleType, args: tuple[Any, ...], expected: object
) -> None:
    check(outcome_of(lambda: python_routed.format_float(*args)), expected)


def test_format_float_numpy_float64(impl: ModuleType) -> None:
    """numpy.float64 subclasses float (spec 2.5)."""
    import numpy as np  # noqa: PLC0415 (only these tests need numpy)

    assert impl.format_float(np.float64(3.0)) == "3"
    assert impl.format_float(np.float64(3.25)) == "3.2"


def test_format_float_numpy_float32_via_python(python_routed: ModuleType) -> None:
    import numpy as np  # noqa: PLC0415

    assert python_routed.format_float(np.float32(3.25)) == "3.2"
    assert python_routed.format_float(np.int64(7)) == "7"  # via is_integer, not str()


# --- 2.6 truncate_long_string -----------------------------------------------------------------------------

S48 = "this is a very long string that needs truncation"
REGION = "us-west-2-availability-zone-1"
TRUNCATE_ROWS: list[tuple[tuple[Any, ...], str]] = [
    ((S48,), "this is a very long string that needs..."),
    ((S48, 20), "this is a very long ..."),
    ((S48, 47), "this is a very long string that needs truncatio..."),
    ((S48, 48), S48),
    (("hello world foo", 12), "hello world ..."),
    (("a b c d e f g", 5), "a b c d..."),
    (("supercalifragilistic word", 10), "supercalif..."),
    (("p3.16xlarge.extra.long", 15), "p3.16xlarge.ext..."),
    (("m6i.32xlarge-extra", 15), "m6i.32xlarge-ex..."),
    (("python train.py --epochs 100 --lr 0.001 --batch-size 64", 25), "python train.py --epochs ..."),
    (("日本語のテキスト です", 5), "日本語のテ..."),
    (("abcdef", 0), "..."),
    (("", 10), ""),
    (("abcdef", -1), "abcde..."),
    (("abcdefghijklmnopqrstuvwxyz", 10, True), "abcd...xyz"),
    (("abcdefghijklmnopqrstuvwxyz", 11, True), "abcd...wxyz"),
    (("abcde", 4, True), "a..."),
    ((REGION, 20, True), "us-west-2...y-zone-1"),
    ((REGION, 15, True), "us-wes...zone-1"),
    ((REGION, 3, True), "..."),
    ((REGION, 2, True), "..."),
    (("abcdef", -1, True), "..."),
    (("us-east-1-very-long-region", 25, True), "us-east-1-v...long-region"),
    (("ääääää öööö", 5), "äääää..."),
]


@pytest.mark.parametrize(("args", "expected"), TRUNCATE_ROWS)
def test_truncate_long_string_rows(impl: ModuleType, args: tuple[Any, ...], expected: str) -> None:
    check(outcome_of(lambda: impl.truncate_long_string(*args)), expected)


def test_truncate_long_string_end_mode_is_unbounded(impl: ModuleType) -> None:
    assert len(impl.truncate_long_string("a  " * 30, 29)) == 86


# --- 2.7 get_cpu_count ------------------------------------------------------------------------------------

CPU_ENV_ROWS: list[tuple[str, object]] = [
    ("4", 4),
    ("2.9", 2),
    ("0.5", 0),
    ("-1", -1),
    (" 8 ", 8),
    ("1e1", 10),
    ("abc", Raises(ValueError, "Failed to parse the number of CPUs from abc")),
    ("nan", Raises(ValueError, "Failed to parse the number of CPUs from nan")),
    ("", Raises(ValueError, "Failed to parse the number of CPUs from ")),
    ("inf", Raises(OverflowError)),
]


@pytest.mark.parametrize(("value", "expected"), CPU_ENV_ROWS)
def test_get_cpu_count_environment_rows(
    impl: ModuleType, tmp_path: Path, value: str, expected: object
) -> None:
    root = write_tree(tmp_path / "cgroup", cgroup_v2_files(cpu_max="50000 100000"))
    environ = {"SKYPILOT_POD_CPU_CORE_LIMIT": value}
    check(outcome_of(lambda: impl._get_cpu_count_at(str(root), environ, 8, 4)), expected)


CPU_TREE_ROWS: list[tuple[str, Mapping[str, str | bytes | None], int, int | None, int]] = [
    ("no cgroup files", {}, 8, None, 8),
    ("affinity {0,1,2,3}", {}, 8, 4, 4),
    ("v2 limit 16 on 4 affine CPUs", cgroup_v2_files(cpu_max="1600000 100000"), 8, 4, 4),
    ("v2 limit 2", cgroup_v2_files(cpu_max="200000 100000"), 8, None, 2),
    ("v2 limit 1.5 floors", cgroup_v2_files(cpu_max="150000 100000"), 8, None, 1),
    ("v2 max", cgroup_v2_files(cpu_max="max 100000"), 8, None, 8),
    ("v2 0.5 floors to 0", cgroup_v2_files(cpu_max="50000 100000"), 8, None, 0),
    ("v2 period 0 = no limit (deviation)", cgroup_v2_files(cpu_max="100000 0"), 8, None, 8),
    ("v2 quota -1", cgroup_v2_files(cpu_max="-1 100000"), 8, None, 8),
    ("v2 three tokens", cgroup_v2_files(cpu_max="1 2 3"), 8, None, 8),
    ("v2 cpu.max unreadable", cgroup_v2_files(cpu_max=None), 8, None, 8),
    ("v2 marker, cpu.max missing", cgroup_v2_files(), 8, None, 8),
    ("v1 limit 1.5", cgroup_v1_files(quota="150000", period="100000"), 8, None, 1),
    ("v1 no quota", cgroup_v1_files(quota="-1", period="100000"), 8, None, 8),
    ("v1 period missing", cgroup_v1_files(quota="150000"), 8, None, 8),
    ("v1 files ignored on v2", {**cgroup_v2_files(), **cgroup_v1_files("100000", "100000")}, 8, None, 8),
    ("v2 file ignored on v1", {"cpu.max": "100000 100000"}, 8, None, 8),
]


@pytest.mark.parametrize("row", [row[1:] for row in CPU_TREE_ROWS], ids=[row[0] for row in CPU_TREE_ROWS])
def test_get_cpu_count_cgroup_rows(
    impl: ModuleType, tmp_path: Path, row: tuple[Mapping[str, str | bytes | None], int, int | None, int]
) -> None:
    files, online_cpus, affinity_cpus, expected = row
    root = write_tree(tmp_path / "cgroup", files)
    check(outcome_of(lambda: impl._get_cpu_count_at(str(root), {}, online_cpus, affinity_cpus)), expected)


def test_get_cpu_count_on_this_host(impl: ModuleType) -> None:
    assert impl.get_cpu_count() == reference_module().get_cpu_count()


# --- 2.8 get_mem_size_gb ----------------------------------------------------------------------------------

MEMORY_ENV_ROWS: list[tuple[dict[str, str], object]] = [
    ({"SKYPILOT_POD_MEMORY_GB_LIMIT": "16"}, 16.0),
    ({"SKYPILOT_POD_MEMORY_GB_LIMIT": "0.5"}, 0.5),
    ({"SKYPILOT_POD_MEMORY_GB_LIMIT": "-1"}, -1.0),
    ({"SKYPILOT_POD_MEMORY_GB_LIMIT": "inf"}, math.inf),
    ({"SKYPILOT_POD_MEMORY_GB_LIMIT": "nan"}, math.nan),
    ({"SKYPILOT_POD_MEMORY_GB_LIMIT": "1_000"}, 1000.0),
    (
        {"SKYPILOT_POD_MEMORY_GB_LIMIT": "x"},
        Raises(ValueError, "Failed to parse the memory size from x (GB)"),
    ),
    ({"SKYPILOT_POD_MEMORY_BYTES_LIMIT": "8589934592"}, 8.0),
    ({"SKYPILOT_POD_MEMORY_BYTES_LIMIT": "1000000000"}, 0.9313225746154785),
    (
        {"SKYPILOT_POD_MEMORY_BYTES_LIMIT": "8Gi"},
        Raises(ValueError, "Failed to parse the memory size from 8Gi (bytes)"),
    ),
    ({"SKYPILOT_POD_MEMORY_GB_LIMIT": "3", "SKYPILOT_POD_MEMORY_BYTES_LIMIT": "8589934592"}, 3.0),
]


@pytest.mark.parametrize(("environ", "expected"), MEMORY_ENV_ROWS)
def test_get_mem_size_gb_environment_rows(
    impl: ModuleType, tmp_path: Path, environ: dict[str, str], expected: object
) -> None:
    root = write_tree(tmp_path / "cgroup", cgroup_v2_files(memory_max=str(4 * GIB)))
    check(outcome_of(lambda: impl._get_mem_size_gb_at(str(root), environ, 8 * GIB)), expected)


MEMORY_TREE_ROWS: list[tuple[str, Mapping[str, str | bytes | None], int, float]] = [
    ("this machine's host total", {}, 25_276_502_016, 23.540576934814453),
    ("v2 limit 4 GiB", cgroup_v2_files(memory_max=str(4 * GIB)), 8 * GIB, 4.0),
    ("v2 limit 16 GiB on 8 GiB", cgroup_v2_files(memory_max=str(16 * GIB)), 8 * GIB, 8.0),
    ("v2 max", cgroup_v2_files(memory_max="max"), 8 * GIB, 8.0),
    ("v2 empty", cgroup_v2_files(memory_max=""), 8 * GIB, 8.0),
    ("v2 zero", cgroup_v2_files(memory_max="0"), 8 * GIB, 8.0),
    ("v2 not a number", cgroup_v2_files(memory_max="4G"), 8 * GIB, 8.0),
    ("v2 unreadable", cgroup_v2_files(memory_max=None), 8 * GIB, 8.0),
    ("v1 limit 4 GiB", cgroup_v1_files(memory_limit=str(4 * GIB)), 8 * GIB, 4.0),
    ("v1 unlimited sentinel", cgroup_v1_files(memory_limit="9223372036854771712"), 8 * GIB, 8.0),
]


@pytest.mark.parametrize(
    ("files", "host_total_bytes", "expected"),
    [row[1:] for row in MEMORY_TREE_ROWS],
    ids=[row[0] for row in MEMORY_TREE_ROWS],
)
def test_get_mem_size_gb_cgroup_rows(
    impl: ModuleType,
    tmp_path: Path,
    files: Mapping[str, str | bytes | None],
    host_total_bytes: int,
    expected: float,
) -> None:
    root = write_tree(tmp_path / "cgroup", files)
    check(outcome_of(lambda: impl._get_mem_size_gb_at(str(root), {}, host_total_bytes)), expected)


def test_get_mem_size_gb_on_this_host(impl: ModuleType) -> None:
    assert impl.get_mem_size_gb() == reference_module().get_mem_size_gb()


# --- 2.9 get_parallel_threads -----------------------------------------------------------------------------

THREADS_ROWS: list[tuple[str | None, int | None, int]] = [
    *[(None, cpus, 4) for cpus in (None, 1, 2, 4, 5)],
    (None, 8, 7),
    (None, 16, 15),
    (None, 64, 63),
    *[("kubernetes", cpus, 16) for cpus in (None, 1, 2, 4, 5)],
    ("kubernetes", 8, 28),
    ("kubernetes", 16, 60),
    ("kubernetes", 64, 252),
    ("Kubernetes", 8, 28),
    ("KUBERNETES", 8, 28),
    *[(cloud, 8, 7) for cloud in ("k8s", " kubernetes", "SSH", "aws", "")],
]


@pytest.mark.parametrize(("cloud_str", "online_cpus", "expected"), THREADS_ROWS)
def test_get_parallel_threads_rows(
    impl: ModuleType, cloud_str: str | None, online_cpus: int | None, expected: int
) -> None:
    check(outcome_of(lambda: impl._get_parallel_threads_with(cloud_str, online_cpus)), expected)


def test_get_parallel_threads_on_this_host(impl: ModuleType) -> None:
    assert impl.get_parallel_threads() == max(4, (os.cpu_count() or 1) - 1)
    assert impl.get_parallel_threads("kubernetes") == 4 * max(4, (os.cpu_count() or 1) - 1)


def test_get_parallel_threads_truthy_non_string_via_python(python_routed: ModuleType) -> None:
    check(outcome_of(lambda: python_routed.get_parallel_threads(5)), Raises(AttributeError))


# --- 2.10 is_process_alive --------------------------------------------------------------------------------
# The zombie and thread-id rows are in test_processes.py.


@pytest.mark.parametrize(
    ("pid", "expected"),
    [
        # Ids that do not depend on the process: parallel workers must collect the same test names.
        pytest.param(os.getpid(), True, id="own-pid"),
        (1, True),
        (0, False),
        (-1, False),
        pytest.param(-os.getpgid(0), False, id="own-process-group-negated"),
        (9_999_999, False),  # above Linux's largest pid_max (2**22)
        (2**31, Raises(OverflowError)),
        (2**64, Raises(OverflowError)),
        # psutil checks pid < 0 before converting, so a huge negative pid is False, not OverflowError.
        (-(2**31) - 1, False),
    ],
)
def test_is_process_alive_rows(impl: ModuleType, pid: int, expected: object) -> None:
    check(outcome_of(lambda: impl.is_process_alive(pid)), expected)


# --- 2.11 get_max_workers_for_file_mounts -----------------------------------------------------------------


@pytest.fixture(scope="module")
def entry_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    base = tmp_path_factory.mktemp("mounts")
    return {count: str(make_directory_with_entries(base / f"d{count}", count)) for count in (20, 100, 200)}


MOUNT_ROWS: list[tuple[int, tuple[str, ...], str | None, int]] = [
    (1024, (), None, 7),
    (1024, ("d20",), None, 7),
    (1024, ("d20",), "kubernetes", 9),
    (1024, (), "kubernetes", 28),
    (1024, ("d100",), None, 1),
    (1024, ("d20", "d200"), None, 1),
    (4096, ("d20", "d200"), None, 3),
    (4096, ("d20",), "kubernetes", 28),
    (1024, ("s3://bucket/x", "~/nonexistent"), None, 7),
    (100, ("d20",), None, 1),
    (50, ("d20",), "kubernetes", 1),
    (50, (), None, 1),
    (1_048_576, ("d20", "d200"), None, 7),
    (1_048_576, ("d20", "d200"), "kubernetes", 28),
    # Deviation: RLIM_INFINITY (-1) means no descriptor constraint, so the thread cap (SkyPilot: 1).
    (-1, ("d20", "d200"), None, 7),
    (-1, (), "kubernetes", 28),
]


@pytest.mark.parametrize("row", MOUNT_ROWS)
def test_get_max_workers_rows(
    impl: ModuleType, entry_dirs: dict[int, str], row: tuple[int, tuple[str, ...], str | None, int]
) -> None:
    soft_limit, sources, cloud_str, expected = row
    resolved = [entry_dirs[int(source[1:])] if source.startswith("d") else source for source in sources]
    mounts = {f"/mnt/{index}": source for index, source in enumerate(resolved)}
    call: Callable[[], object] = lambda: impl._get_max_workers_for_file_mounts_with(  # noqa: E731
        mounts, cloud_str, soft_limit, 8
    )
    check(outcome_of(call), expected)


def test_get_max_workers_on_this_host(impl: ModuleType, entry_dirs: dict[int, str]) -> None:
    mounts = {"/a": entry_dirs[20]}
    assert impl.get_max_workers_for_file_mounts(mounts) == reference_module().get_max_workers_for_file_mounts(
        mounts
    )


# --- 2.12 estimate_fd_for_directory -----------------------------------------------------------------------


def test_estimate_fd_for_directory_rows(impl: ModuleType, tmp_path: Path) -> None:
    twelve = make_directory_with_entries(tmp_path / "twelve", 12)
    thirteen = make_directory_with_entries(tmp_path / "thirteen", 13)
    regular_file = tmp_path / "file"
    regular_file.write_bytes(b"x")
    link_to_dir = tmp_path / "link"
    link_to_dir.symlink_to(twelve)
    assert impl.estimate_fd_for_directory(str(twelve)) == 60
    assert impl.estimate_fd_for_directory(str(thirteen)) == 65
    assert impl.estimate_fd_for_directory(str(link_to_dir)) == 60  # isdir follows symlinks
    assert impl.estimate_fd_for_directory(str(twelve) + "/") == 60
    # Decision 3: anything that is not a directory gives 0 instead of raising.
    assert impl.estimate_fd_for_directory(str(regular_file)) == 0
    assert impl.estimate_fd_for_directory(str(tmp_path / "missing")) == 0
    assert impl.estimate_fd_for_directory("") == 0
    assert impl.estimate_fd_for_directory("s3://bucket/x") == 0
