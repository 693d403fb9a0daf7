"""File and socket helpers: SkyPilot 0.14.1 ``sky/utils/common_utils.py`` (spec sections 2.1-2.3)."""

from __future__ import annotations

import hashlib
import logging
import os
import socket

logger = logging.getLogger(__name__)

_HASH_BLOCK_BYTES = 2**18  # SkyPilot reads 256 KiB blocks.
_PORT_RANGE_END = 65535  # Exclusive bound, as in SkyPilot.


def read_last_n_lines(
    file_path: str,
    n: int,
    chunk_size: int = 8192,
    encoding: str = "utf-8",
    errors: str = "replace",
) -> list[str]:
    """The last ``n`` lines of a file, ``'\\n'`` kept on all but the last (spec 2.1).

    Deviation (spec Decision 3): the precondition ``AssertionError``s are raised explicitly, so ``python -O``
    keeps them.
    """
    if n < 0:
        raise AssertionError(f"n must be non-negative. Got {n}")
    if chunk_size <= 0:
        raise AssertionError(f"chunk_size must be positive. Got {chunk_size}")
    if not os.path.exists(file_path):
        raise AssertionError(f"File not found: {file_path}")
    if n == 0:
        return []
    try:
        with open(file_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            file_size = f.tell()
            if file_size == 0:
                return []
            pos = file_size
            newlines_seen = 0
            chunks: list[bytes] = []
            # Scan backwards until more than n newlines are seen (SkyPilot's stop rule).
            while pos > 0 and newlines_seen <= n:
                read_size = min(chunk_size, pos)
                pos -= read_size
                f.seek(pos)
                chunk = f.read(read_size)
                chunks.append(chunk)
                newlines_seen += chunk.count(b"\n")
            pieces = b"".join(reversed(chunks)).split(b"\n")
            # A trailing newline leaves an empty last piece that is not a line.
            selected = pieces[-n - 1 : -1] if pieces[-1] == b"" else pieces[-n:]
            lines = [piece.decode(encoding, errors=errors).rstrip("\r") + "\n" for piece in selected[:-1]]
            lines.append(selected[-1].decode(encoding, errors=errors).rstrip("\r"))
            return lines
    except OSError as e:
        raise RuntimeError(f"Failed to read last {n} lines from {file_path}: {e}") from e


def hash_file(path: str, hash_alg: str) -> hashlib._Hash:
    """The unfinalised hashlib object of a file's bytes (spec 2.2).

    The file is opened before the algorithm is looked up, so a missing file wins over a bad name.
    """
    with open(path, "rb") as f:
        file_hash = hashlib.new(hash_alg)
        buf = bytearray(_HASH_BLOCK_BYTES)
        view = memoryview(buf)
        while True:
            size = f.readinto(buf)
            if size == 0:
                break
            file_hash.update(view[:size])
        return file_hash


def find_free_port(start_port: int) -> int:
    """The first port from ``start_port`` that binds on INADDR_ANY, without SO_REUSEADDR (spec 2.3)."""
    for port in range(start_port, _PORT_RANGE_END):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("", port))
                return port
            except OSError as e:
                logger.debug("port %d is not free: %s", port, e)
    raise OSError("No free ports available.")
