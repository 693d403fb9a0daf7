"""hash_file on the paths and names SkyPilot's callers rarely pass: both sides must answer alike.

Python opens the file before ``hashlib.new`` looks at the name, so an ``OSError`` (a directory's
``IsADirectoryError`` included) wins over a bad name, and hashlib rejects a name that is not a ``str`` it can
hand to OpenSSL (a NUL, a lone surrogate) with ``TypeError('name must be a string')``. These cases compare the
exception's type *and* message, which the parity suite's ``compare_call`` does only for SkyPilot's own texts.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from .support import Outcome, compare_call, outcome_of, reference_module, rust_module

# Every algorithm sky_rs implements where the system OpenSSL provides it (hashlib's canonical names).
IMPLEMENTED_IN_RUST = (
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "sha512_224",
    "sha512_256",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "blake2b",
    "blake2s",
)


def _both(path: str, name: object) -> tuple[Outcome, Outcome]:
    reference = outcome_of(lambda: reference_module().hash_file(path, name))
    rust = outcome_of(lambda: rust_module().hash_file(path, name))
    return reference, rust


def _error(outcome: Outcome) -> tuple[object, str]:
    return (outcome.error_type, outcome.error_message)


@pytest.fixture
def data_file(tmp_path: Path) -> str:
    path = tmp_path / "data"
    path.write_bytes(b"abc")
    return str(path)


@pytest.mark.parametrize("name", [None, 5, b"md5", "md5", "nope", "md5\x00", "\ud800"])
def test_a_directory_is_a_directory_whatever_the_name(tmp_path: Path, name: object) -> None:
    reference, rust = _both(str(tmp_path), name)
    assert reference.error_type is IsADirectoryError
    assert _error(rust) == _error(reference)


@pytest.mark.parametrize("name", [None, 5, "md5\x00", "nope\x00", "\ud800", "md5\udcff"])
def test_a_name_hashlib_cannot_take_is_its_type_error(data_file: str, name: object) -> None:
    reference, rust = _both(data_file, name)
    assert _error(reference) == (TypeError, "name must be a string")
    assert _error(rust) == _error(reference)


@pytest.mark.parametrize("name", [None, "\ud800", "nope"])
def test_a_missing_file_wins_over_any_name(tmp_path: Path, name: object) -> None:
    reference, rust = _both(str(tmp_path / "missing"), name)
    assert reference.error_type is FileNotFoundError
    assert _error(rust) == _error(reference)


@pytest.mark.parametrize("name", ["md5", "sha256", "blake2b", None, "nope"])
def test_dev_null_is_an_empty_file(name: object) -> None:
    compare_call("hash_file", "/dev/null", name)


def test_a_proc_file_that_reports_size_zero_is_hashed_whole() -> None:
    """/proc files stat as 0 bytes but have content; /proc/version does not change between the calls."""
    reference = compare_call("hash_file", "/proc/version", "sha256")
    assert reference.value is not None
    assert reference.value.hexdigest() != hashlib.sha256(b"").hexdigest()  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("side", ["reference", "sky_rs"])
def test_a_fifo_is_read_until_its_writer_closes(tmp_path: Path, side: str) -> None:
    """open() of a FIFO waits for a writer; the bytes then arrive in pipe-sized pieces over several reads."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    payload = bytes(range(256)) * 1000  # 256,000 bytes: several times the pipe's and the read block's size

    def write() -> None:
        with fifo.open("wb") as writer:
            writer.write(payload)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    module = reference_module() if side == "reference" else rust_module()
    outcome = outcome_of(lambda: module.hash_file(str(fifo), "sha256"))
    writer.join(timeout=30)
    assert not writer.is_alive()
    assert outcome.value is not None, outcome.describe()
    assert outcome.value.hexdigest() == hashlib.sha256(payload).hexdigest()  # type: ignore[attr-defined]


def test_every_algorithm_openssl_provides_is_hashed_in_rust() -> None:
    """SUPPORTED_HASH_ALGORITHMS is what the fallback sends to Rust: none may be lost to the OpenSSL port."""
    constructible = set()
    for name in IMPLEMENTED_IN_RUST:
        try:
            hashlib.new(name)
        except ValueError:
            continue
        constructible.add(name)
    assert constructible <= rust_module().SUPPORTED_HASH_ALGORITHMS <= set(IMPLEMENTED_IN_RUST)


@pytest.mark.parametrize("name", IMPLEMENTED_IN_RUST)
@pytest.mark.parametrize("size_bytes", [0, 1, 2**16 - 1, 2**16, 2**16 + 1, 5 * 2**16 + 3])
def test_every_algorithm_around_the_read_block(tmp_path: Path, name: str, size_bytes: int) -> None:
    if name not in rust_module().SUPPORTED_HASH_ALGORITHMS:
        pytest.skip(f"this system's OpenSSL does not provide {name}")
    path = tmp_path / "data"
    path.write_bytes(bytes(index * 7 % 251 for index in range(size_bytes)))
    compare_call("hash_file", str(path), name)
