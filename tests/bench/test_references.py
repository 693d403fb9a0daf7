"""Physical references: bytes read by the backward scan, plain hashlib, and the keys a bench run stores."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.functions import reference
from harness.functions.pairs.workload_types import PreparedWorkload, Workload
from harness.functions.registry import find_workload
from harness.measure.physical import (
    BYTES_READ_PER_CALL,
    COREUTILS_NS,
    HASHLIB_NS,
    bytes_read_per_call,
    hashlib_digest,
    measure_references,
    reference_key,
    references_of,
)


def _file(tmp_path: Path, content: bytes, name: str = "log") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_bytes_read_stops_after_more_than_n_newlines(tmp_path: Path) -> None:
    path = _file(tmp_path, b"a\n" * 10)  # 20 bytes, 10 newlines
    # 4-byte chunks from the end: 2 newlines (not > 3), then 4 (> 3): two chunks read.
    assert bytes_read_per_call(path, 3, chunk_size=4) == 8
    assert bytes_read_per_call(path, 10, chunk_size=4) == 20  # never more than n+1: the whole file
    assert bytes_read_per_call(path, 0, chunk_size=4) == 0  # n == 0 returns [] without reading
    assert bytes_read_per_call(path, 1, chunk_size=7) == 7  # one chunk with more than n newlines is enough


def test_bytes_read_are_enough_for_the_answer(tmp_path: Path) -> None:
    # The last n lines lie within the bytes the scan reads: the same call on only those bytes agrees.
    rng = random.Random(7)
    content = b"".join(rng.randbytes(rng.randrange(0, 300)).replace(b"\n", b"") + b"\n" for _ in range(500))
    path = _file(tmp_path, content)
    for n in (1, 10, 100, 499):
        read = bytes_read_per_call(path, n, chunk_size=512)
        tail = _file(tmp_path, content[-read:], name=f"tail-{n}")
        assert reference.read_last_n_lines(tail, n) == reference.read_last_n_lines(path, n), n
        assert read < len(content) or n == 499


def test_bytes_read_rejects_a_negative_n(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n >= 0"):
        bytes_read_per_call(_file(tmp_path, b"x\n"), -1)


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_hashlib_reference_hashes_as_hash_file_does(tmp_path: Path, algorithm: str) -> None:
    path = _file(tmp_path, random.Random(1).randbytes(600_000))  # more than two 256 KiB blocks
    assert hashlib_digest(path, algorithm) == reference.hash_file(path, algorithm).digest()


def test_keys_name_function_workload_and_what() -> None:
    references = {
        reference_key("hash_file", "md5-4KiB", HASHLIB_NS): 1.0,
        reference_key("hash_file", "md5-4KiB", COREUTILS_NS): 2.0,
        reference_key("hash_file", "md5-4KiBx", HASHLIB_NS): 3.0,
    }
    assert "hash_file/md5-4KiB/hashlib_ns" in references
    assert references_of(references, "hash_file", "md5-4KiB") == {HASHLIB_NS: 1.0, COREUTILS_NS: 2.0}


def _two_file_workload(path: str) -> Workload:
    return Workload(
        function="hash_file",
        id="tree-of-two",
        modes=frozenset(),
        size=2.0,
        size_unit="files",
        description="two files",
        data=(),
        build=lambda _paths, _seed: PreparedWorkload(batch=((path, "md5"), (path, "md5"))),
    )


def test_measure_references_covers_single_files_only(tmp_path: Path) -> None:
    workloads = [
        find_workload("hash_file", "md5-4KiB"),
        find_workload("read_last_n_lines", "1KB-n1000"),
        find_workload("base36_encode", "md5-hex"),  # no physical reference
        _two_file_workload(_file(tmp_path, b"abc")),  # a tree: no single size
    ]
    measured = dict(measure_references(workloads, tmp_path / "scratch", 0, values=2, min_time_s=0.001))
    expected = {"hash_file/md5-4KiB/hashlib_ns", "read_last_n_lines/1KB-n1000/bytes_read_per_call"}
    assert expected <= set(measured)
    assert set(measured) - expected <= {"hash_file/md5-4KiB/coreutils_ns"}  # if md5sum is installed
    assert all(value > 0 for value in measured.values())
    # A 1 KB log is read in one chunk, whole.
    assert measured[reference_key("read_last_n_lines", "1KB-n1000", BYTES_READ_PER_CALL)] == 1000.0
