"""Which commit the gate compares with, and the worker-protocol check (temporary git repositories)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.gate.build import BuildError, RefError, default_ref, require_worker_protocol, resolve_commit


def _git(repo: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return completed.stdout.strip()


def _commit(repo: Path, name: str) -> str:
    (repo / name).write_text(name, encoding="utf-8")
    _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", name)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    return tmp_path


def test_first_commit_has_nothing_to_compare_with(repo: Path) -> None:
    _commit(repo, "a")
    with pytest.raises(BuildError, match="no parent"):
        default_ref(repo)


def test_on_main_the_parent_commit(repo: Path) -> None:
    first = _commit(repo, "a")
    _commit(repo, "b")
    assert default_ref(repo) == first


def test_on_a_branch_the_merge_base_with_main(repo: Path) -> None:
    _commit(repo, "a")
    fork_point = _commit(repo, "b")
    _git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, "c")
    _commit(repo, "d")
    _git(repo, "checkout", "-q", "main")
    _commit(repo, "e")
    _git(repo, "checkout", "-q", "feature")
    assert default_ref(repo) == fork_point


def test_unknown_revision_is_a_ref_error(repo: Path) -> None:
    _commit(repo, "a")
    with pytest.raises(RefError, match="nope"):
        resolve_commit(repo, "nope")


def test_commit_without_the_worker_is_refused(repo: Path) -> None:
    bare = _commit(repo, "a")
    with pytest.raises(BuildError, match=r"harness/worker\.py"):
        require_worker_protocol(repo, bare)
    (repo / "harness").mkdir()
    with_worker = _commit(repo, "harness/worker.py")
    require_worker_protocol(repo, with_worker)  # no error
