"""Atomic file writes: a later step (or a reader at any moment) sees the old file or the new one, never a mix.

Every file another step reads is written this way: into a temporary file in the same folder (so the rename
stays on one file system), flushed and fsynced, renamed over the target with ``os.replace`` (atomic on
POSIX), and then the folder is fsynced so the rename itself survives a crash or power loss. A write that
fails or is interrupted removes its temporary file; one killed outright (SIGKILL) leaves a hidden
``.<name>.<random>.tmp`` beside the target, which nothing reads.

Hand-written because the packages for it do not fit: ``atomicwrites`` (last release 1.4.1, 2022) is
deprecated and unmaintained by its author, and ``safer`` by default rewrites the target in place from a
memory buffer, while its temporary-file mode fsyncs neither the file nor the folder.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TextIO

# The modes a plain open() / mkdir() would give; read once, as os.umask can only be read by setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
NEW_FILE_MODE = 0o666 & ~_UMASK
NEW_FOLDER_MODE = 0o777 & ~_UMASK


def fsync_directory(directory: Path) -> None:
    """Make the folder's entries (a rename, a new file) durable."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _file_mode(path: Path) -> int:
    """The target's current permissions, or a new file's: a rewrite never changes who may read it."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return NEW_FILE_MODE


@contextmanager
def open_atomic_binary(path: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` when the block ends without an exception, and never before."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(_file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        # Interrupted or failed: the target keeps its previous content, and no temporary file is left.
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


@contextmanager
def open_atomic_text(path: Path, *, newline: str | None = None) -> Iterator[TextIO]:
    """``open_atomic_binary`` as UTF-8 text (``newline=""`` for the csv module)."""
    with open_atomic_binary(path) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8", newline=newline)
        try:
            yield text
        finally:
            # Hand the handle back without closing it: the binary block fsyncs, closes and renames it.
            text.detach()


def write_bytes_atomic(path: Path, payload: bytes) -> Path:
    """Replace ``path`` with ``payload`` atomically; returns the path."""
    with open_atomic_binary(path) as handle:
        handle.write(payload)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8) atomically; returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> Path:
    """Replace ``path`` with ``data`` as JSON atomically; returns the path. The layout of the run's, the
    gate's, history's and the baselines' JSON (sorted keys, two-space indent, a final newline): reruns
    compare byte for byte."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def replace_symlink_atomic(link: Path, target: Path | str) -> None:
    """Point ``link`` at ``target`` in one rename: a reader sees the old target or the new, never no link."""
    link.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = link.parent / f".{link.name}.{os.urandom(6).hex()}.tmp"
        try:
            temporary.symlink_to(target)
            break
        except FileExistsError:
            continue
    try:
        os.replace(temporary, link)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(link.parent)
