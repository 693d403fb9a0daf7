"""Every path to a verdict is sound: the build measured is the tree's, a stray slot or a second gate cannot
disable or corrupt the gate, git misbehaving is a tool error (exit 2), and exit 3 names its reason."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import sky_rs
from harness.commands import gate as cli
from harness.gate import build
from harness.gate.build import is_worktree_of, prepare_worktree
from harness.gate.ci import ci_verdict
from harness.gate.lock import gate_dir_lock
from harness.gate.outcome import ExitCode, GateToolError
from harness.gate.source_digest import (
    BuildSettings,
    ensure_fresh_candidate,
    source_digest,
    source_digest_of_tree,
)

REPO = Path(__file__).resolve().parents[2]
REAL_GIT = shutil.which("git") or "git"
SLEEP = shutil.which("sleep") or "sleep"


def _git(repo: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return completed.stdout.strip()


def _scratch_tree(tmp_path: Path) -> Path:
    """A copy of this checkout's files (as in the working tree) in a fresh repository of two commits."""
    scratch = tmp_path / "scratch"
    for name in _git(REPO, "ls-files").splitlines():
        source = REPO / name
        if source.is_file():
            (scratch / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, scratch / name)
    _git(scratch, "init", "-q", "-b", "main")
    _git(scratch, "add", "-A")
    _git(scratch, "commit", "-q", "-m", "scratch")
    _git(scratch, "commit", "-q", "--allow-empty", "-m", "a parent to compare with")
    return scratch


def _run_cli(argv: list[str], tmp_path: Path) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    arguments = parser.parse_args([*argv, "--out", str(tmp_path / "out")])
    exit_code: int = arguments.handler(arguments)
    return exit_code


def _fake_git(tmp_path: Path, script: str) -> Path:
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return bin_dir


# --- which build is measured ---


def test_the_build_reports_the_digest_python_computes_for_this_tree() -> None:
    assert sky_rs.__source_digest__ == source_digest_of_tree(REPO)


def test_the_digest_follows_the_rust_sources_the_lock_file_and_the_profile(tmp_path: Path) -> None:
    native = tmp_path / "native"
    shutil.copytree(REPO / "native" / "src", native / "src")
    for name in ("Cargo.toml", "Cargo.lock"):
        shutil.copy2(REPO / "native" / name, native / name)
    release = BuildSettings(profile="release", features=("default", "python"))
    before = source_digest(native, release)
    assert before == source_digest_of_tree(REPO)
    assert source_digest(native, BuildSettings(profile="debug", features=release.features)) != before
    assert source_digest(native, BuildSettings(profile="release", features=("default",))) != before
    with (native / "Cargo.lock").open("a", encoding="utf-8") as lock:
        lock.write("\n")
    assert source_digest(native, release) != before


def test_an_edited_rust_source_is_never_measured_with_the_old_build(tmp_path: Path) -> None:
    scratch = _scratch_tree(tmp_path)
    with (scratch / "native" / "src" / "string_utils.rs").open("a", encoding="utf-8") as source:
        source.write("\n// an edit the venv's build has not seen\n")
    gate_dir = tmp_path / "gate"
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "gate", "--quick", "--only", "base36_encode", "--no-rebuild",
         "--gate-dir", str(gate_dir), "--out", str(tmp_path / "out"), "--no-push"],
        cwd=scratch, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert completed.returncode == ExitCode.USAGE_OR_TOOL_ERROR, completed.stderr
    assert "Traceback" not in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("gate: tool error: the venv's sky_rs")
    assert "not built from this tree's Rust sources" in last
    assert not (gate_dir / "trees").exists()  # refused before the base was built or anything measured
    assert not (tmp_path / "out" / "gate-comparisons.json").exists()


def test_a_stale_candidate_is_rebuilt_and_checked_again(tmp_path: Path) -> None:
    scratch = _scratch_tree(tmp_path)
    (scratch / "native" / "src" / "string_utils.rs").write_text("// changed\n", encoding="utf-8")
    rebuilt: list[tuple[Path, Path]] = []
    ensure_fresh_candidate(REPO, rebuilder=lambda tree, python: rebuilt.append((tree, python)))
    assert rebuilt == []  # this tree's build is fresh: nothing to do
    with pytest.raises(GateToolError, match="after a rebuild"):
        # The stand-in rebuild changes nothing, so the check after it must still refuse.
        ensure_fresh_candidate(scratch, rebuilder=lambda tree, python: rebuilt.append((tree, python)))
    assert rebuilt == [(scratch, Path(sys.executable))]


# --- the worktree slot ---


@pytest.fixture
def small_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "a").write_text("a", encoding="utf-8")
    _git(repo, "add", "a")
    _git(repo, "commit", "-q", "-m", "a")
    return repo, _git(repo, "rev-parse", "HEAD")


def test_a_stray_folder_in_the_base_slot_is_replaced_by_the_worktree(small_repo: tuple[Path, str]) -> None:
    repo, commit = small_repo
    gate_dir = repo / ".skybench" / "gate"
    tree = gate_dir / "trees" / "base"
    tree.mkdir(parents=True)
    (tree / "x").touch()  # the stray folder
    prepare_worktree(repo, commit, tree, gate_dir)
    assert is_worktree_of(repo, tree)
    assert _git(tree, "rev-parse", "HEAD") == commit
    assert not (tree / "x").exists() and (tree / "a").exists()


def test_a_slot_that_links_elsewhere_loses_only_the_link(
    small_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo, commit = small_repo
    gate_dir = repo / ".skybench" / "gate"
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep").touch()
    tree = gate_dir / "trees" / "base"
    tree.parent.mkdir(parents=True)
    tree.symlink_to(outside, target_is_directory=True)
    prepare_worktree(repo, commit, tree, gate_dir)
    assert (outside / "keep").exists()
    assert is_worktree_of(repo, tree) and not tree.is_symlink()


# --- one gate at a time ---


_HOLDER = """
import sys, time
from pathlib import Path
from harness.gate.lock import gate_dir_lock
with gate_dir_lock(Path(sys.argv[1]), wait_s=0):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_gate_names_the_holder_and_a_dead_holders_lock_is_taken_over(tmp_path: Path) -> None:
    gate_dir = tmp_path / "gate"
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(gate_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with (
                pytest.raises(GateToolError, match=rf"another gate holds .*pid {holder.pid} "),
                gate_dir_lock(gate_dir, wait_s=0.5),
            ):
                pass
        finally:
            holder.kill()  # dies holding the lock: the kernel releases it
            holder.wait()
    with gate_dir_lock(gate_dir, wait_s=30):
        recorded = json.loads((gate_dir / "lock").read_text(encoding="utf-8"))
        assert recorded["pid"] != holder.pid


# --- git misbehaving is the tool's fault ---


def test_a_git_that_hangs_is_a_one_line_tool_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PATH", f"{_fake_git(tmp_path, f'exec {SLEEP} 60')}:{os.environ['PATH']}")
    monkeypatch.setattr(build, "GIT_TIMEOUT_S", 0.5)
    code = _run_cli(["gate", "--quick", "--only", "base36_encode", "--no-push"], tmp_path)
    assert code == ExitCode.USAGE_OR_TOOL_ERROR
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == "gate: tool error: git rev-parse --show-toplevel did not finish within 0.5 s"


def test_a_worktree_git_cannot_add_is_a_tool_error_not_cannot_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = (
        'case " $* " in *" worktree add "*) echo "fatal: simulated failure" >&2; exit 128;; esac\n'
        f'exec {REAL_GIT} "$@"'
    )
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PATH", f"{_fake_git(tmp_path, script)}:{os.environ['PATH']}")
    argv = ["gate", "--quick", "--only", "base36_encode", "--no-push", "--gate-dir", str(tmp_path / "g")]
    code = _run_cli([*argv, "--against", "HEAD~1"], tmp_path)
    assert code == ExitCode.USAGE_OR_TOOL_ERROR
    (line,) = [text for text in capsys.readouterr().err.splitlines() if text.startswith("gate:")]
    assert line.startswith("gate: tool error: git worktree add") and "simulated failure" in line


# --- what CI makes of exit 3 ---


def test_ci_warns_on_exit_3_only_with_a_reason_about_the_change(tmp_path: Path) -> None:
    verdict = tmp_path / "gate-comparisons.json"
    assert ci_verdict(1, verdict)[0] == 1 and ci_verdict(0, verdict)[0] == 0
    assert ci_verdict(3, verdict)[0] == ExitCode.USAGE_OR_TOOL_ERROR  # no file: not a pass
    for reason, expected in (
        ({"reason": "no-parent", "side": "change", "detail": "first\ncommit 100%"}, 0),
        ({"reason": "no-parent", "side": "tool", "detail": "x"}, 2),
        ({"reason": "disk-on-fire", "side": "change", "detail": "x"}, 2),
        (None, 2),
    ):
        verdict.write_text(json.dumps({"exit_code": 3, "cannot_judge": reason}), encoding="utf-8")
        code, _ = ci_verdict(3, verdict)
        assert code == expected, reason
    verdict.write_text(
        json.dumps({"cannot_judge": {"reason": "no-parent", "side": "change", "detail": "a\nb %"}})
    )
    assert ci_verdict(3, verdict) == (0, "::warning title=bench gate::cannot judge [no-parent]: a b %25")
