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
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.atomic import write_bytes_atomic
from harness.gate.outcome import CannotJudgeCode, GateToolError
from harness.gate.source_digest import source_digest_of_tree
from harness.processes import run_bounded

GATE_DIR = Path(".skybench/gate")
WORKER_MODULE_PATH = "harness/worker.py"
# Driver code run in a build's interpreter (python -c) imports that build's registry, whichever layout the
# commit has: a base commit may predate harness/functions/.
BUILD_REGISTRY_IMPORTS = """
try:
    from harness.functions.registry import find_workload, resolve_callable
    from harness.functions.pairs.workload_types import prepare
except ImportError:
    from harness.registry import find_workload, resolve_callable
    from harness.workloads import prepare
"""
_SHARED_PTH_NAME = "zz_skybench_gate_shared.pth"  # sorts after the editable install's .pth
_STAMP_NAME = ".skybench-gate-build.json"
_BUILD_TIMEOUT_S = 1800.0
GIT_TIMEOUT_S = 120.0  # module-level so a test can shorten it


class BuildError(RuntimeError):
    """A fact about the base commit that stops the gate judging it (exit 3), with its reason code."""

    def __init__(self, code: CannotJudgeCode, message: str) -> None:
        super().__init__(message)
        self.code = code


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
    """Runs git in ``repo`` with a timeout. GateToolError when git cannot run, times out, or (``check``)
    fails: git misbehaving is the tool's fault, never a fact about the change."""
    shown = " ".join(args)
    try:
        completed = run_bounded(["git", "-C", str(repo), *args], timeout_s=GIT_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise GateToolError(f"git {shown} did not finish within {GIT_TIMEOUT_S:g} s") from error
    except OSError as error:
        raise GateToolError(f"cannot run git {shown}: {error}") from error
    if check and completed.returncode != 0:
        raise GateToolError(f"git {shown} failed: {' '.join(completed.stderr.split())}")
    return completed


def repo_root(start: Path) -> Path:
    completed = git(start, "rev-parse", "--show-toplevel", check=False)
    if completed.returncode != 0:
        raise GateToolError(f"{start} is not inside a git checkout: {completed.stderr.strip()}")
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

    Raises BuildError (``no-parent``) when there is nothing to compare with (the first commit).
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
        raise BuildError(CannotJudgeCode.NO_PARENT, "HEAD has no parent commit: nothing to compare with")
    return parent.stdout.strip()


def resolve_commit(repo: Path, ref: str) -> str:
    """The full sha of ``ref``; RefError (usage error) when git does not know it."""
    completed = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if completed.returncode != 0:
        raise RefError(f"git does not know the revision {ref!r}")
    return completed.stdout.strip()


def require_worker_protocol(repo: Path, commit: str) -> None:
    """BuildError (``base-predates-worker``) unless ``commit`` has the timing worker the gate drives."""
    if git(repo, "cat-file", "-e", f"{commit}:{WORKER_MODULE_PATH}", check=False).returncode != 0:
        raise BuildError(
            CannotJudgeCode.BASE_PREDATES_WORKER,
            f"{commit[:12]} has no {WORKER_MODULE_PATH} (it predates the timing worker protocol); "
            "the gate cannot run it",
        )


def is_worktree_of(repo: Path, tree: Path) -> bool:
    """Whether ``tree`` is one of ``repo``'s registered worktrees, with its own top level (not a stray
    folder, nor a folder inside some other checkout)."""
    if not (tree / ".git").is_file():  # a linked worktree has a .git *file* naming its gitdir
        return False
    listing = git(repo, "worktree", "list", "--porcelain").stdout
    registered = {
        Path(line.removeprefix("worktree ")).resolve()
        for line in listing.splitlines()
        if line.startswith("worktree ")
    }
    if tree.resolve() not in registered:
        return False
    top = git(tree, "rev-parse", "--show-toplevel", check=False)
    return top.returncode == 0 and Path(top.stdout.strip()).resolve() == tree.resolve()


def remove_slot(path: Path, gate_dir: Path) -> None:
    """Deletes a slot (a stray folder, a broken worktree): only ever inside ``gate_dir``."""
    if path.is_symlink():
        path.unlink()  # the link only, never what it points to
        return
    if not path.resolve().is_relative_to(gate_dir.resolve()) or path.resolve() == gate_dir.resolve():
        raise GateToolError(f"refusing to remove {path}: it is not inside the gate folder {gate_dir}")
    try:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    except OSError as error:
        raise GateToolError(f"cannot remove the stale slot {path}: {error}") from error


def prepare_worktree(repo: Path, commit: str, tree: Path, gate_dir: Path) -> None:
    """A detached worktree of ``commit`` at ``tree``: reused (and moved to ``commit``) when it is one of
    ``repo``'s worktrees; anything else in the slot is removed first (a stray folder must not disable
    the gate)."""
    if is_worktree_of(repo, tree):
        git(tree, "checkout", "--quiet", "--force", "--detach", commit)
        git(tree, "clean", "-fdq", "--exclude=.skybench")  # patches of a previous experiment
        return
    if tree.exists() or tree.is_symlink():
        remove_slot(tree, gate_dir)
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
            [base_python, "-m", "venv", "--without-pip", str(venv)],
            cwd=venv.parent,
            what="creating the venv",
            failure=GateToolError,
        )
    site_packages = _venv_site_packages(venv)
    try:
        site_packages.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(site_packages / _SHARED_PTH_NAME, f"{candidate_site_packages()}\n".encode())
    except OSError as error:
        raise GateToolError(f"cannot prepare the venv {venv}: {error}") from error
    return python


def install_tree(tree: Path, python: Path, cargo_target_dir: Path, log: Path) -> None:
    """Editable install of ``tree`` (maturin, release profile) into the venv of ``python``."""
    environment = {**os.environ, "CARGO_TARGET_DIR": str(cargo_target_dir.resolve())}
    environment.pop("VIRTUAL_ENV", None)
    command = [
        sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
        "--no-deps", "--no-build-isolation", "--disable-pip-version-check", "-e", str(tree),
    ]  # fmt: skip
    _run(
        command, cwd=tree, what=f"building {tree}", environment=environment, log=log, failure=_does_not_build
    )


_PROBE = (
    "import json, harness, sky_rs, harness.worker; "
    "print(json.dumps({'harness': harness.__file__, 'sky_rs': sky_rs.__file__, "
    "'digest': getattr(sky_rs, '__source_digest__', None)}))"
)


def verify_build(python: Path, tree: Path, venv: Path) -> str | None:
    """The source digest the build reports (None: it predates ``__source_digest__``). BuildError unless
    ``python`` imports this tree's harness; GateToolError unless its sky_rs comes from this venv."""
    try:
        completed = run_bounded([str(python), "-c", _PROBE], cwd=tree, timeout_s=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GateToolError(f"cannot run {python}: {error}") from error
    if completed.returncode != 0:
        raise _does_not_build(f"the build in {tree} does not import: {completed.stderr.strip()[-600:]}")
    try:
        paths = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as error:
        raise GateToolError(
            f"{python} printed no import report: {completed.stdout.strip()[-200:]!r}"
        ) from error
    if not Path(paths["harness"]).resolve().is_relative_to(tree.resolve()):
        raise GateToolError(f"{python} imports harness from {paths['harness']}, not from {tree}")
    if not Path(paths["sky_rs"]).resolve().is_relative_to(venv.resolve()):
        raise GateToolError(f"{python} imports sky_rs from {paths['sky_rs']}, not from {venv}")
    digest = paths.get("digest")
    return digest if isinstance(digest, str) else None


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

    Skips the build when the slot already holds this commit, unpatched, built from the tree's sources
    (``_reusable``). With ``rebuild_native=False`` (a patch of Python sources only) a slot built for this
    commit is re-patched without rebuilding ``sky_rs``.
    """
    gate_dir = (gate_dir or repo / GATE_DIR).resolve()
    tree = gate_dir / "trees" / slot
    venv = gate_dir / "venvs" / slot
    stamp_path = venv / _STAMP_NAME
    build = Build(label=slot, commit=commit, tree=tree, python=venv / "bin" / "python")
    if patch is None and _reusable(repo, build, venv, stamp_path):
        progress(f"{slot}: reusing the build of {commit[:12]}")
        return build
    stamp = _read_stamp(stamp_path)
    if not rebuild_native and isinstance(stamp, dict) and stamp.get("commit") == commit:
        # The patch touches Python only: the editable install serves the tree's sources as they are now.
        progress(f"{slot}: re-patching the Python sources of {commit[:12]} (native build kept)")
        prepare_worktree(repo, commit, tree, gate_dir)
        if patch is not None:
            patch(tree)
        verify_build(build.python, tree, venv)
        _write_stamp(stamp_path, {**stamp, "patched": patch is not None})
        return build
    stamp_path.unlink(missing_ok=True)
    progress(f"{slot}: worktree of {commit[:12]} at {tree}")
    prepare_worktree(repo, commit, tree, gate_dir)
    if patch is not None:
        patch(tree)
    venv.mkdir(parents=True, exist_ok=True)
    python = create_venv(venv)
    progress(f"{slot}: building sky_rs (release) into {venv}")
    install_tree(tree, python, gate_dir / "target", log=gate_dir / f"build-{slot}.log")
    reported = verify_build(python, tree, venv)
    _write_stamp(
        stamp_path,
        {
            "commit": commit,
            "patched": patch is not None,
            "source_digest": source_digest_of_tree(tree),
            "reported_digest": reported,
        },
    )
    return build


def _reusable(repo: Path, build: Build, venv: Path, stamp_path: Path) -> bool:
    """The slot holds an unpatched build of this commit, made from the sources now in its tree, and its
    sky_rs still reports the digest recorded when the gate built it (base commits that predate
    ``__source_digest__`` report None both times; the stamp's tree digest then carries the check)."""
    stamp = _read_stamp(stamp_path)
    if (
        not isinstance(stamp, dict)
        or stamp.get("commit") != build.commit
        or stamp.get("patched") is not False
    ):
        return False
    if not is_worktree_of(repo, build.tree):
        return False
    head = git(build.tree, "rev-parse", "HEAD", check=False).stdout.strip()
    dirty = git(build.tree, "status", "--porcelain", "--untracked-files=no", check=False).stdout.strip()
    if head != build.commit or dirty or stamp.get("source_digest") != source_digest_of_tree(build.tree):
        return False
    try:
        reported = verify_build(build.python, build.tree, venv)
    except (BuildError, GateToolError):
        return False
    return bool(reported == stamp.get("reported_digest"))


def candidate_build(repo: Path) -> Build:
    """The working tree with the interpreter running the gate."""
    return Build(label="candidate", commit="working tree", tree=repo, python=Path(sys.executable))


def _read_stamp(path: Path) -> dict[str, object] | None:
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _write_stamp(path: Path, stamp: Mapping[str, object]) -> None:
    try:
        write_bytes_atomic(path, json.dumps(dict(stamp), sort_keys=True).encode())
    except OSError as error:
        raise GateToolError(f"cannot write {path}: {error}") from error


def _does_not_build(message: str) -> BuildError:
    return BuildError(CannotJudgeCode.BASE_DOES_NOT_BUILD, message)


def _run(
    command: list[str],
    *,
    cwd: Path,
    what: str,
    failure: Callable[[str], Exception],
    environment: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> None:
    try:
        completed = run_bounded(command, cwd=cwd, environment=environment, timeout_s=_BUILD_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GateToolError(f"{what} failed: {error}") from error
    if log is not None:
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(completed.stdout + completed.stderr, encoding="utf-8")
        except OSError as error:
            raise GateToolError(f"cannot write the build log {log}: {error}") from error
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip()[-1500:]
        where = f" (full log: {log})" if log is not None else ""
        raise failure(f"{what} failed (exit {completed.returncode}){where}: {tail}")
