"""Builders of fake cgroup trees and directories for the hooks (spec Decision 4)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import Path

# A file's content; a value of None makes a directory at that path, so reading it fails with an OSError
# (root can read mode-000 files, so permissions cannot make a file unreadable here).
FileContent = str | bytes | None


class Absent(Enum):
    """Marks a file the builders leave out."""

    ABSENT = "absent"


ABSENT = Absent.ABSENT


def write_tree(root: Path, files: Mapping[str, FileContent]) -> Path:
    """Create ``files`` (relative path -> content) under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for relative_path, content in files.items():
        path = root / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(exist_ok=True)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def _present(files: Mapping[str, FileContent | Absent]) -> dict[str, FileContent]:
    return {path: content for path, content in files.items() if not isinstance(content, Absent)}


def cgroup_v2_files(
    cpu_max: FileContent | Absent = ABSENT, memory_max: FileContent | Absent = ABSENT
) -> dict[str, FileContent]:
    """A v2 tree: ``cgroup.controllers`` is what marks v2."""
    return _present({"cgroup.controllers": "cpu memory\n", "cpu.max": cpu_max, "memory.max": memory_max})


def cgroup_v1_files(
    quota: FileContent | Absent = ABSENT,
    period: FileContent | Absent = ABSENT,
    memory_limit: FileContent | Absent = ABSENT,
) -> dict[str, FileContent]:
    """A v1 tree (no ``cgroup.controllers``)."""
    return _present(
        {
            "cpu/cpu.cfs_quota_us": quota,
            "cpu/cpu.cfs_period_us": period,
            "memory/memory.limit_in_bytes": memory_limit,
        }
    )


def make_directory_with_entries(path: Path, entry_count: int) -> Path:
    """A directory with ``entry_count`` top-level entries: files, hidden files and subdirectories."""
    path.mkdir(parents=True, exist_ok=True)
    for index in range(entry_count):
        kind = index % 3
        if kind == 0:
            (path / f"file{index}").write_bytes(b"x")
        elif kind == 1:
            (path / f".hidden{index}").write_bytes(b"")
        else:
            (path / f"sub{index}").mkdir()
            (path / f"sub{index}" / "nested").write_bytes(b"not counted")
    return path
