"""What a ``sky_rs`` build was made from: the source digest ``native/build.rs`` stamps into every build
(``sky_rs.__source_digest__``) and the same digest computed here for any tree, so the gate never measures
a build of other sources than the ones it names (docs/gate.md, "Which build is measured").

The definition, shared with ``native/build.rs`` (and docs/gate.md): SHA-256, lower-case hex, fed with

1. for each of ``src/**/*.rs``, ``Cargo.toml`` and ``Cargo.lock`` under ``native/`` that is a file, in the
   byte order of its path relative to ``native/`` (``/``-separated, UTF-8):
   ``b"file\\0" + path + b"\\0" + its length in bytes as decimal + b"\\0" + its bytes``;
2. ``b"profile\\0" + PROFILE + b"\\0"``, PROFILE being cargo's (``release`` or ``debug``);
3. for each enabled cargo feature, sorted (lower case, ``-`` as ``_``): ``b"feature\\0" + name + b"\\0"``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.gate.outcome import GateToolError
from harness.processes import run_bounded

_PROBE = "import sky_rs; print(getattr(sky_rs, '__source_digest__', ''))"
_PROBE_TIMEOUT_S = 120.0
_REBUILD_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class BuildSettings:
    """What of pyproject's ``[tool.maturin]`` changes the binary: the cargo profile and the features."""

    profile: str  # cargo's PROFILE as build.rs sees it: "release" or "debug"
    features: tuple[str, ...]  # enabled cargo features, normalised as cargo's CARGO_FEATURE_* names


def build_settings(pyproject: Path) -> BuildSettings:
    """The settings maturin builds ``sky_rs`` with, read from ``[tool.maturin]`` of ``pyproject``."""
    try:
        maturin = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("maturin", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise GateToolError(f"cannot read the build settings in {pyproject}: {error}") from error
    profile_name = str(maturin.get("profile", "release"))
    # Cargo reports a custom profile by the built-in one it inherits; only dev and test inherit debug.
    profile = "debug" if profile_name in {"dev", "test"} else "release"
    features = {str(name) for name in maturin.get("features", [])}
    if not maturin.get("no-default-features", False):
        features.add("default")
    return BuildSettings(profile=profile, features=tuple(sorted(_feature_name(f) for f in features)))


def _feature_name(feature: str) -> str:
    return feature.lower().replace("-", "_")


def _digest_files(native_dir: Path) -> list[tuple[str, Path]]:
    files = [path for path in (native_dir / "src").rglob("*.rs") if path.is_file()]
    files += [path for path in (native_dir / "Cargo.toml", native_dir / "Cargo.lock") if path.is_file()]
    named = [(path.relative_to(native_dir).as_posix(), path) for path in files]
    return sorted(named, key=lambda item: item[0].encode("utf-8"))


def source_digest(native_dir: Path, settings: BuildSettings) -> str:
    """The digest of the crate in ``native_dir`` built with ``settings`` (module docstring)."""
    digest = hashlib.sha256()
    try:
        for name, path in _digest_files(native_dir):
            content = path.read_bytes()
            digest.update(b"file\0" + name.encode("utf-8") + b"\0" + str(len(content)).encode() + b"\0")
            digest.update(content)
    except OSError as error:
        raise GateToolError(f"cannot read the Rust sources in {native_dir}: {error}") from error
    digest.update(b"profile\0" + settings.profile.encode() + b"\0")
    for feature in settings.features:
        digest.update(b"feature\0" + feature.encode() + b"\0")
    return digest.hexdigest()


def source_digest_of_tree(tree: Path) -> str:
    """The digest a build of ``tree`` (a checkout of this project) must report."""
    return source_digest(tree / "native", build_settings(tree / "pyproject.toml"))


def reported_digest(python: Path, cwd: Path) -> str:
    """``sky_rs.__source_digest__`` as ``python`` imports it from ``cwd``; "" when it cannot import sky_rs
    or the build predates the attribute (both mean: not a build of these sources)."""
    try:
        completed = run_bounded([str(python), "-c", _PROBE], cwd=cwd, timeout_s=_PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GateToolError(f"cannot run {python}: {error}") from error
    lines = completed.stdout.strip().splitlines()
    return lines[-1] if completed.returncode == 0 and lines else ""


def rebuild_editable(tree: Path, python: Path) -> None:
    """What ``make venv`` runs to rebuild ``sky_rs``: an editable install of ``tree`` into that venv."""
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-build-isolation", "--no-deps", "-e", str(tree)]  # fmt: skip
    try:
        completed = subprocess.run(
            command, cwd=tree, capture_output=True, text=True, timeout=_REBUILD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GateToolError(f"rebuilding sky_rs failed: {error}") from error
    if completed.returncode != 0:
        tail = " ".join((completed.stderr or completed.stdout).split()[-40:])
        raise GateToolError(f"rebuilding sky_rs failed (exit {completed.returncode}): {tail}")


def ensure_fresh_candidate(
    tree: Path,
    *,
    python: Path = Path(sys.executable),
    rebuild: bool = True,
    progress: Callable[[str], None] = lambda message: None,
    rebuilder: Callable[[Path, Path], None] = rebuild_editable,
) -> None:
    """Makes sure ``python``'s ``sky_rs`` was built from ``tree``'s sources: rebuilds it when stale, or
    (``rebuild=False``) raises GateToolError saying so. Never lets the gate measure an old build."""
    wanted = source_digest_of_tree(tree)
    built = reported_digest(python, tree)
    if built == wanted:
        return
    stale = (
        f"the venv's sky_rs ({_short(built)}) was not built from this tree's Rust sources ({_short(wanted)})"
    )
    if not rebuild:
        raise GateToolError(
            f"{stale}; run `make venv` first, or drop --no-rebuild to let the gate rebuild it"
        )
    progress(f"candidate: {stale}; rebuilding it (pip install --no-build-isolation --no-deps -e .)")
    rebuilder(tree, python)
    built = reported_digest(python, tree)
    if built != wanted:
        raise GateToolError(
            f"after a rebuild the venv's sky_rs reports {_short(built)}, not {_short(wanted)}"
        )


def _short(digest: str) -> str:
    return f"digest {digest[:12]}" if digest else "no source digest"
