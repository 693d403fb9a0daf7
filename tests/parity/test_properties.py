"""Random input on both sides: the reference and sky_rs must return equal values or raise the same errors.

Each property runs ``PARITY_EXAMPLES`` (2000) derandomized examples. Calls go through ``compare_call``, which
fails on a difference in value, exception type or SkyPilot-owned message, and on any Rust panic.
"""

from __future__ import annotations

import itertools
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from . import strategies as gen
from .support import (
    PARITY_SETTINGS,
    compare_call,
    compare_call_on_a_busy_host,
    outcomes_in_subprocess,
    rust_module,
)
from .trees import FileContent, make_directory_with_entries, write_tree

_tree_counter = itertools.count()


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """One folder per module; hypothesis reruns the test body, so function-scoped tmp_path would be shared."""
    # tmpfs when there is one: thousands of small trees are built and removed.
    in_memory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="skybench-parity-", dir=in_memory) as folder:
        yield Path(folder)


def _fresh_dir(scratch: Path) -> Path:
    return scratch / f"t{next(_tree_counter)}"


# --- strings ---------------------------------------------------------------------------------------------


def _is_negative_hex(text: str | bytes) -> bool:
    """True when ``int(text, 16)`` is negative, which SkyPilot's loop never finishes (checked elsewhere)."""
    if not text.isascii():
        return False
    try:
        return int(text, 16) < 0
    except ValueError:
        return False


@PARITY_SETTINGS
@given(hex_str=st.one_of(gen.hex_like_text, gen.hex_like_text.filter(str.isascii).map(str.encode)))
def test_base36_encode_matches(hex_str: str | bytes) -> None:
    # A negative value would hang an implementation that kept SkyPilot's loop: those run in a subprocess.
    assume(not _is_negative_hex(hex_str))
    compare_call("base36_encode", hex_str)


NEGATIVE_HEX = ["-1", "-ff", " -0x_F\n", "-" + "f" * 40, "-0X1_0", "\t-deadbeef "]


@pytest.mark.parametrize("module", ["harness.functions.reference", "sky_rs"])
def test_base36_encode_negative_raises_value_error_without_hanging(module: str) -> None:
    rng = random.Random(36)
    generated = [
        "-" + "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(1, 60))) for _ in range(40)
    ]
    calls = [[text] for text in NEGATIVE_HEX + generated if int(text, 16) < 0]
    results = outcomes_in_subprocess(module, "base36_encode", calls, timeout_s=30)
    wrong = [
        (call, result)
        for call, result in zip(calls, results, strict=True)
        if result.get("error_type") != "ValueError"
    ]
    assert wrong == [], f"a negative value must raise ValueError (Decision 3): {wrong[:5]}"


# Rust formats a float's text in a 64-byte stack buffer and takes a String beyond it: both sides of the edge.
@pytest.mark.parametrize(
    ("num", "precision"),
    [(0.5, 61), (0.5, 62), (0.5, 63), (-0.5, 61), (-0.5, 62), (1e62, 1), (1e63, 1), (1e64, 1), (-1e63, 1)],
)
def test_format_float_matches_at_the_stack_buffer_edge(num: float, precision: int) -> None:
    compare_call("format_float", num, precision)


@PARITY_SETTINGS
@given(
    num=st.one_of(gen.format_numbers, st.floats().map(np.float64)),
    precision=st.one_of(st.none(), gen.format_precisions),
)
def test_format_float_matches(num: float | int, precision: int | None) -> None:
    if precision is None:
        compare_call("format_float", num)
    else:
        compare_call("format_float", num, precision)


@PARITY_SETTINGS
@given(
    s=gen.tricky_text,
    max_length=st.one_of(st.none(), st.integers(-10, 130)),
    truncate_middle=st.one_of(st.none(), st.booleans()),
)
def test_truncate_long_string_matches(s: str, max_length: int | None, truncate_middle: bool | None) -> None:
    kwargs: dict[str, object] = {}
    if max_length is not None:
        kwargs["max_length"] = max_length
    if truncate_middle is not None:
        kwargs["truncate_middle"] = truncate_middle
    compare_call("truncate_long_string", s, **kwargs)


# --- files -----------------------------------------------------------------------------------------------


def _whole_file_last_lines(content: bytes, n: int) -> list[str]:
    """The spec's whole-file definition of read_last_n_lines (section 2.1), for the default codec."""
    if n == 0 or not content:
        return []
    pieces = content.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    selected = pieces[-n:]
    lines = [piece.decode("utf-8", "replace").rstrip("\r") for piece in selected]
    return [line + "\n" for line in lines[:-1]] + lines[-1:]


# The codecs and handlers sky_rs implements; others are routed to Python by harness.functions.fallback.
_RUST_CODECS = st.tuples(
    st.sampled_from(["utf-8", "latin-1", "ascii"]), st.sampled_from(["strict", "replace", "ignore"])
)


@PARITY_SETTINGS
@given(
    content=gen.log_bytes(),
    n=gen.line_counts,
    chunk_size=gen.chunk_sizes,
    codec=st.one_of(st.none(), st.none(), _RUST_CODECS),
)
def test_read_last_n_lines_matches(
    scratch: Path, content: bytes, n: int, chunk_size: int, codec: tuple[str, str] | None
) -> None:
    path = scratch / "log.txt"
    path.write_bytes(content)
    if codec is not None:
        compare_call("read_last_n_lines", str(path), n, chunk_size, *codec)
        return
    reference = compare_call("read_last_n_lines", str(path), n, chunk_size)
    # The reference also has to agree with the spec's chunk-free definition.
    assert reference.value == _whole_file_last_lines(content, n)


def _respell(name: str, rng: random.Random) -> str:
    separator = rng.choice(["_", "-", ""])
    respelled = name.replace("_", separator) if "_" in name else name
    return "".join(ch.upper() if rng.random() < 0.5 else ch for ch in respelled)


@st.composite
def hash_inputs(draw: st.DrawFn) -> tuple[bytes, str]:
    # Sizes around the 256 KiB block of SkyPilot's reader and sky_rs's 64 KiB read, and small random files.
    blocks = [2**16 - 1, 2**16, 2**16 + 1, 2**18 - 1, 2**18, 2**18 + 1, 3 * 2**18 + 7]
    size = draw(st.one_of(st.integers(0, 3000), st.sampled_from(blocks)))
    seed = draw(st.binary(min_size=1, max_size=64))
    content = (seed * (size // len(seed) + 1))[:size]
    # A sky_rs without the set fails here, as it should.
    supported = sorted(rust_module().SUPPORTED_HASH_ALGORITHMS)
    # No hash is called "nope..." in hashlib or OpenSSL.
    unknown = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", max_size=8).map("nope".__add__)
    # hashlib's spellings too: any case, '-' for '_' or dropped ('SHA-256', 'Sha3-256', 'sha256').
    spelled = st.tuples(st.sampled_from(supported or ["md5"]), st.randoms(use_true_random=False)).map(
        lambda pair: _respell(pair[0], pair[1])
    )
    name = draw(st.one_of(st.sampled_from(supported), unknown, spelled) if supported else unknown)
    return content, name


@PARITY_SETTINGS
@given(inputs=hash_inputs())
def test_hash_file_matches(scratch: Path, inputs: tuple[bytes, str]) -> None:
    content, name = inputs
    path = scratch / "data.bin"
    path.write_bytes(content)
    compare_call("hash_file", str(path), name)


@pytest.fixture(scope="module")
def sized_dirs(scratch: Path) -> list[Path]:
    """Directories with 0 to 60 top-level entries (index = entry count)."""
    return [make_directory_with_entries(scratch / f"sized{count}", count) for count in range(61)]


@PARITY_SETTINGS
@given(entry_count=st.integers(0, 60), suffix=st.sampled_from(["", "/", "/.", "/missing", "\x00"]))
def test_estimate_fd_for_directory_matches(sized_dirs: list[Path], entry_count: int, suffix: str) -> None:
    compare_call("estimate_fd_for_directory", str(sized_dirs[entry_count]) + suffix)


@PARITY_SETTINGS
@given(path=gen.tricky_text)
def test_estimate_fd_for_directory_matches_on_odd_paths(path: str) -> None:
    compare_call("estimate_fd_for_directory", path)


@PARITY_SETTINGS
@given(path=gen.tricky_text, n=gen.line_counts)
def test_read_last_n_lines_matches_on_odd_paths(path: str, n: int) -> None:
    """Paths with lone surrogates Python cannot even stat: "File not found", as os.path.exists says."""
    compare_call("read_last_n_lines", path, n)


@PARITY_SETTINGS
@given(root=gen.tricky_text, pid=st.sampled_from([os.getpid(), 1, 0, -1, 4_194_304]))
def test_is_process_alive_at_matches_on_odd_roots(root: str, pid: int) -> None:
    compare_call_on_a_busy_host("_is_process_alive_at", pid, root)


@PARITY_SETTINGS
@given(root=gen.tricky_text, cpu_env=st.one_of(st.none(), gen.env_value))
def test_cgroup_hooks_match_on_odd_roots(root: str, cpu_env: str | None) -> None:
    environ = {} if cpu_env is None else {"SKYPILOT_POD_CPU_CORE_LIMIT": cpu_env}
    compare_call("_get_cpu_count_at", root, environ, 8, None)
    compare_call("_get_mem_size_gb_at", root, {}, 2**33)


@pytest.fixture(scope="module")
def mount_sources(scratch: Path) -> list[str]:
    """Directories of several sizes, a symlink to one, a file, and sources that are never directories."""
    sources = [
        str(make_directory_with_entries(scratch / f"mount{count}", count))
        for count in (0, 1, 19, 20, 21, 200)
    ]
    (scratch / "mount-link").symlink_to(sources[-1])
    (scratch / "mount-file").write_bytes(b"x")
    return [
        *sources,
        str(scratch / "mount-link"),
        str(scratch / "mount-file"),
        "s3://bucket/x",
        "~/nonexistent",
        "",
    ]


@PARITY_SETTINGS
@given(
    picks=st.lists(st.one_of(st.integers(0, 10), gen.tricky_text), max_size=6),
    cloud_str=gen.cloud_names,
    nofile_soft_limit=gen.nofile_limits,
    online_cpus=gen.online_cpu_counts,
)
def test_get_max_workers_for_file_mounts_matches(
    mount_sources: list[str],
    picks: list[int | str],
    cloud_str: str | None,
    nofile_soft_limit: int,
    online_cpus: int | None,
) -> None:
    # A str pick is an odd path of its own (lone surrogates included): never a directory.
    mounts = {
        f"/dst/{index}": pick if isinstance(pick, str) else mount_sources[pick]
        for index, pick in enumerate(picks)
    }
    compare_call("_get_max_workers_for_file_mounts_with", mounts, cloud_str, nofile_soft_limit, online_cpus)


# --- system ----------------------------------------------------------------------------------------------


@st.composite
def cgroup_trees(draw: st.DrawFn) -> dict[str, FileContent]:
    """A fake cgroup root: v2 (cgroup.controllers present) or v1, with random, junk or unreadable files."""
    files: dict[str, FileContent] = {}
    if draw(st.booleans()):
        files["cgroup.controllers"] = "cpu memory\n"
    if draw(st.integers(0, 4)) > 0:
        files["cpu.max"] = draw(gen.cpu_max_content())
    if draw(st.integers(0, 4)) > 0:
        files["memory.max"] = draw(gen.file_token)
    for relative_path in ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "memory/memory.limit_in_bytes"):
        if draw(st.integers(0, 4)) > 0:
            files[relative_path] = draw(gen.file_token)
    return files


def _environment(draw_values: dict[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in draw_values.items() if value is not None}


@PARITY_SETTINGS
@given(
    files=cgroup_trees(),
    cpu_env=st.one_of(st.none(), st.none(), gen.env_value),
    online_cpus=st.integers(1, 4096),
    affinity_cpus=st.one_of(st.none(), st.integers(1, 4096)),
)
def test_get_cpu_count_matches(
    scratch: Path,
    files: dict[str, FileContent],
    cpu_env: str | None,
    online_cpus: int,
    affinity_cpus: int | None,
) -> None:
    root = write_tree(_fresh_dir(scratch), files)
    environ = _environment({"SKYPILOT_POD_CPU_CORE_LIMIT": cpu_env, "UNRELATED": "1"})
    compare_call("_get_cpu_count_at", str(root), environ, online_cpus, affinity_cpus)


@PARITY_SETTINGS
@given(
    files=cgroup_trees(),
    gb_env=st.one_of(st.none(), st.none(), gen.env_value),
    bytes_env=st.one_of(st.none(), st.none(), gen.env_value),
    host_total_bytes=st.integers(1, 2**45),
)
def test_get_mem_size_gb_matches(
    scratch: Path,
    files: dict[str, FileContent],
    gb_env: str | None,
    bytes_env: str | None,
    host_total_bytes: int,
) -> None:
    root = write_tree(_fresh_dir(scratch), files)
    environ = _environment(
        {"SKYPILOT_POD_MEMORY_GB_LIMIT": gb_env, "SKYPILOT_POD_MEMORY_BYTES_LIMIT": bytes_env}
    )
    compare_call("_get_mem_size_gb_at", str(root), environ, host_total_bytes)


@PARITY_SETTINGS
@given(cloud_str=gen.cloud_names, online_cpus=gen.online_cpu_counts)
def test_get_parallel_threads_matches(cloud_str: str | None, online_cpus: int | None) -> None:
    compare_call("_get_parallel_threads_with", cloud_str, online_cpus)


# --- processes and ports ----------------------------------------------------------------------------------


@PARITY_SETTINGS
@given(pid=gen.pids)
def test_is_process_alive_matches(pid: int) -> None:
    compare_call_on_a_busy_host("is_process_alive", pid)


@PARITY_SETTINGS
@given(start_port=st.integers(1024, 65534), held_count=st.integers(0, 3))
def test_find_free_port_matches(start_port: int, held_count: int) -> None:
    import socket  # noqa: PLC0415

    held: list[socket.socket] = []
    try:
        for port in range(start_port, min(start_port + held_count, 65535)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            try:
                sock.bind(("", port))
            except OSError:
                assume(False)  # taken by someone else: not the situation this example wants
            sock.listen()
        compare_call_on_a_busy_host("find_free_port", start_port)
    finally:
        for sock in held:
            sock.close()
