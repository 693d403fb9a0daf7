"""Build another commit's ``sky_rs`` and Python reference in its own git worktree and virtual environment.

Layout under ``.skybench/gate/`` (ignored by git, kept between runs so rebuilds are incremental):

* ``trees/<slot>/``: a detached worktree of the commit (``slot`` is ``base`` for the gate; the experiment
  uses more);
* ``venvs/<slot>/``: a venv without pip whose ``zz_skybench_gate_shared.pth`` appends the current venv's
  site-packages, so third-party packages (numpy, scipy, memray, maturin...) are shared, not reinstalled.
  A .pth line only appends a path (the .pth files inside it are not run), so the candidate's own
  ``skybench.pth`` does not leak in, and the slot's editable install comes first on sys.path;
* ``target/``: one CARGO_TARGET_DIR shared by every slot, so dependencies (pyo3) compile once.

The slot's environment is verified after the build: ``sky_rs`` must load from the slot's venv and
``harness`` from the slot's tree, else the build counts as failed (never compare a build with itself by
accident).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

GATE_DIR = Path(".skybench/gate")
WORKER_MODULE_PATH = "harness/worker.py"
_SHARED_PTH_NAME = "zz_skybench_gate_shared.pth"  # sorts after the editable install's .pth
_STAMP_NAME = ".skybench-gate-build.json"
_BUILD_TIMEOUT_S = 1800.0
_GIT_TIMEOUT_S = 120.0


class BuildError(RuntimeError):
    """The base build cannot be made or used: the gate cannot judge (exit 3)."""


class RefError(ValueError):
    """The user named a revision git does not know: a usage error (exit 2)."""


@dataclass(frozen=True)
class Build:
    """One build the gate can run: a Python interpreter whose ``harness`` and ``sky_rs`` are that build's."""

    label: str  # "base" / "candidate", or the experiment's slot name
    commit: str  # full sha, or "working tree"
    tree: Path
    python: Path


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs git in ``repo``; raises BuildError with git's message when ``check`` and it fails."""
    completed = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, check=False
    )
    if check and completed.returncode != 0:
        raise BuildError(f"git {' '.join(args)} failed: {completed.stderr.strip()}")
    return completed


def repo_root(start: Path) -> Path:
    completed = git(start, "rev-parse", "--show-toplevel", check=False)
    if completed.returncode != 0:
        raise BuildError(f"{start} is not inside a git checkout: {completed.stderr.strip()}")
    return Path(completed.stdout.strip())


def _main_branch(repo: Path) -> str | None:
    for candidate in ("origin/main", "main", "origin/master", "master"):
        if (
            git(repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False).returncode
            == 0
        ):
            return candidate
    return None


def default_ref(repo: Path) -> str:
    """The parent commit on the main branch (or detached), else the merge base with the main branch.

    Raises BuildError when there is nothing to compare with (the first commit).
    """
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    main = _main_branch(repo)
    if branch not in {"HEAD", "main", "master"} and main is not None:
        merge_base = git(repo, "merge-base", "HEAD", main, check=False)
        head = git(repo, "rev-parse", "HEAD").stdout.strip()
        if merge_base.returncode == 0 and merge_base.stdout.strip() != head:
            return merge_base.stdout.strip()
    parent = git(repo, "rev-parse", "--verify", "--quiet", "HEAD~1^{commit}", check=False)
    if parent.returncode != 0:
        raise BuildError("HEAD has no parent commit: nothing to compare with")
    return parent.stdout.strip()


def resolve_commit(repo: Path, ref: str) -> str:
    """The full sha of ``ref``; RefError (usage error) when git does not know it."""
    completed = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if completed.returncode != 0:
        raise RefError(f"git does not know the revision {ref!r}")
    return completed.stdout.strip()


def require_worker_protocol(repo: Path, commit: str) -> None:
    """BuildError unless ``commit`` has the timing worker the gate drives."""
    if git(repo, "cat-file", "-e", f"{commit}:{WORKER_MODULE_PATH}", check=False).returncode != 0:
        raise BuildError(
            f"{commit[:12]} has no {WORKER_MODULE_PATH} (it predates the timing worker protocol); "
            "the gate cannot run it"
        )


def prepare_worktree(repo: Path, commit: str, tree: Path) -> None:
    """A detached worktree of ``commit`` at ``tree``: reused (and moved to ``commit``) when it exists."""
    if (tree / ".git").exists():
        git(tree, "checkout", "--quiet", "--force", "--detach", commit)
        git(tree, "clean", "-fdq", "--exclude=.skybench")  # patches of a previous experiment
        return
    git(repo, "worktree", "prune")
    tree.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "--force", "--detach", str(tree), commit)


def candidate_site_packages() -> Path:
    """site-packages of the interpreter running the gate (the candidate's venv)."""
    return Path(sysconfig.get_paths()["purelib"])


def _venv_site_packages(venv: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / version / "site-packages"


def create_venv(venv: Path) -> Path:
    """A pip-less venv of the same base interpreter that sees the candidate's third-party packages."""
    python = venv / "bin" / "python"
    if not python.exists():
        base_python = getattr(sys, "_base_executable", sys.executable)
        _run(
            [base_python, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent, what="creating the venv"
        )
    site_packages = _venv_site_packages(venv)
    site_packages.mkdir(parents=True, exist_ok=True)
    (site_packages / _SHARED_PTH_NAME).write_text(f"{candidate_site_packages()}\n", encoding="utf-8")
    return python


def install_tree(tree: Path, python: Path, cargo_target_dir: Path, log: Path) -> None:
    """Editable install of ``tree`` (maturin, release profile) into the venv of ``python``."""
    environment = {**os.environ, "CARGO_TARGET_DIR": str(cargo_target_dir.resolve())}
    environment.pop("VIRTUAL_ENV", None)
    command = [
        sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
        "--no-deps", "--no-build-isolation", "--disable-pip-version-check", "-e", str(tree),
    ]  # fmt: skip
    _run(command, cwd=tree, what=f"building {tree}", environment=environment, log=log)


_PROBE = (
    "import json, harness, sky_rs, harness.worker; "
    "print(json.dumps({'harness': harness.__file__, 'sky_rs': sky_rs.__file__}))"
)


def verify_build(python: Path, tree: Path, venv: Path) -> None:
    """BuildError unless ``python`` imports this tree's harness and this venv's sky_rs."""
    completed = subprocess.run(
        [str(python), "-c", _PROBE], cwd=tree, capture_output=True, text=True, timeout=120, check=False
    )
    if completed.returncode != 0:
        raise BuildError(f"the build in {tree} does not import: {completed.stderr.strip()[-600:]}")
    paths = json.loads(completed.stdout.strip().splitlines()[-1])
    if not Path(paths["harness"]).resolve().is_relative_to(tree.resolve()):
        raise BuildError(f"{python} imports harness from {paths['harness']}, not from {tree}")
    if not Path(paths["sky_rs"]).resolve().is_relative_to(venv.resolve()):
        raise BuildError(f"{python} imports sky_rs from {paths['sky_rs']}, not from {venv}")


def build_commit(
    repo: Path,
    commit: str,
    *,
    slot: str = "base",
    gate_dir: Path | None = None,
    patch: Callable[[Path], None] | None = None,
    rebuild_native: bool = True,
    progress: Callable[[str], None] = lambda message: None,
) -> Build:
    """Worktree + venv + editable build of ``commit``; ``patch`` may edit the tree before it is built.

    Skips the build when the slot already holds this commit, unpatched, built and verified. With
    ``rebuild_native=False`` (a patch of Python sources only) a slot built for this commit is re-patched
    without rebuilding ``sky_rs``.
    """
    gate_dir = (gate_dir or repo / GATE_DIR).resolve()
    tree = gate_dir / "trees" / slot
    venv = gate_dir / "venvs" / slot
    stamp_path = venv / _STAMP_NAME
    wanted_stamp = {"commit": commit, "patched": patch is not None}
    if patch is None and _read_stamp(stamp_path) == wanted_stamp and (tree / ".git").exists():
        head = git(tree, "rev-parse", "HEAD", check=False).stdout.strip()
        dirty = git(tree, "status", "--porcelain", "--untracked-files=no", check=False).stdout.strip()
        if head == commit and not dirty:
            progress(f"{slot}: reusing the build of {commit[:12]}")
            return Build(label=slot, commit=commit, tree=tree, python=venv / "bin" / "python")
    stamp = _read_stamp(stamp_path)
    if not rebuild_native and isinstance(stamp, dict) and stamp.get("commit") == commit:
        # The patch touches Python only: the editable install serves the tree's sources as they are now.
        progress(f"{slot}: re-patching the Python sources of {commit[:12]} (native build kept)")
        prepare_worktree(repo, commit, tree)
        if patch is not None:
            patch(tree)
        verify_build(venv / "bin" / "python", tree, venv)
        stamp_path.write_text(json.dumps(wanted_stamp), encoding="utf-8")
        return Build(label=slot, commit=commit, tree=tree, python=venv / "bin" / "python")
    stamp_path.unlink(missing_ok=True)
    progress(f"{slot}: worktree of {commit[:12]} at {tree}")
    prepare_worktree(repo, commit, tree)
    if patch is not None:
        patch(tree)
    venv.mkdir(parents=True, exist_ok=True)
    python = create_venv(venv)
    progress(f"{slot}: building sky_rs (release) into {venv}")
    install_tree(tree, python, gate_dir / "target", log=gate_dir / f"build-{slot}.log")
    verify_build(python, tree, venv)
    stamp_path.write_text(json.dumps(wanted_stamp), encoding="utf-8")
    return Build(label=slot, commit=commit, tree=tree, python=python)


def candidate_build(repo: Path) -> Build:
    """The working tree with the interpreter running the gate."""
    return Build(label="candidate", commit="working tree", tree=repo, python=Path(sys.executable))


def _read_stamp(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _run(
    command: list[str],
    *,
    cwd: Path,
    what: str,
    environment: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> None:
    try:
        completed = subprocess.run(
            command,
            cwd=cwd,
            env=dict(environment) if environment is not None else None,
            capture_output=True,
            text=True,
            timeout=_BUILD_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BuildError(f"{what} failed: {error}") from error
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(completed.stdout + completed.stderr, encoding="utf-8")
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip()[-1500:]
        where = f" (full log: {log})" if log is not None else ""
        raise BuildError(f"{what} failed (exit {completed.returncode}){where}: {tail}")
