"""What machine and build a run was measured on, and a stable key for "this kind of machine".

``collect_environment`` returns flat string metadata that goes into ``run.json``, ``report.md`` and the
baseline sidecar. ``machine_fingerprint`` reduces it to a short key that names baseline files: two runs on
machines of the same kind (CPU model, core count, memory size class, OS/arch, Python minor version) share a
key, whatever their hostname; anything that changes the hardware or the interpreter changes the key.

How the build profile of the installed ``sky_rs`` is determined: the extension module is located without
importing it, and its ELF section table is read with ``readelf -S``. Cargo's release profile strips debug
information by default (``strip = "debuginfo"`` since Rust 1.77), its dev profile keeps it, so a
``.debug_info`` section means "debug" and its absence "release". Without ``readelf`` or without an
installed ``sky_rs`` the profile is "unknown".
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

import psutil

UNKNOWN = "unknown"

# Every key collect_environment returns, in a stable order (report tables and sidecars follow it).
ENVIRONMENT_KEYS: tuple[str, ...] = (
    "cpu_model",
    "logical_cores",
    "memory_total_bytes",
    "kernel",
    "os",
    "arch",
    "python_version",
    "python_implementation",
    "rustc_version",
    "pyo3_version",
    "sky_rs_build_profile",
    "sky_rs_path",
    "git_commit",
    "git_dirty",
    "machine_fingerprint",
)

# The keys the fingerprint is built from (python_version only by its minor version): what makes timings
# comparable between two machines.
FINGERPRINT_KEYS: tuple[str, ...] = (
    "cpu_model",
    "logical_cores",
    "memory_total_bytes",
    "os",
    "arch",
    "python_version",
)

_COMMAND_TIMEOUT_S = 20.0


def collect_environment(repo_root: Path) -> dict[str, str]:
    """Describe this machine, the toolchain and the checkout at ``repo_root``; every value is a string."""
    environment = {
        "cpu_model": cpu_model(),
        "logical_cores": str(os.cpu_count() or 0),
        "memory_total_bytes": str(psutil.virtual_memory().total),
        "kernel": platform.release(),
        "os": os_name(),
        "arch": platform.machine(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "rustc_version": _command_output(["rustc", "--version"]),
        "pyo3_version": pyo3_version(repo_root / "native" / "Cargo.lock"),
        "sky_rs_build_profile": UNKNOWN,
        "sky_rs_path": UNKNOWN,
        "git_commit": _command_output(["git", "-C", str(repo_root), "rev-parse", "HEAD"]),
        "git_dirty": git_dirty(repo_root),
    }
    extension = sky_rs_extension_path()
    if extension is not None:
        environment["sky_rs_path"] = str(extension)
        environment["sky_rs_build_profile"] = build_profile(extension)
    environment["machine_fingerprint"] = machine_fingerprint(environment)
    return environment


def machine_fingerprint(env: Mapping[str, str]) -> str:
    """A short, filename-safe key for the kind of machine ``env`` describes (never the hostname).

    Readable part first (``x86_64-linux-2c-32gib-py311``), then 8 hex digits of a hash over the CPU model
    and the other fingerprint keys, so two CPU models with the same core count do not collide.
    """
    missing = [key for key in FINGERPRINT_KEYS if key not in env]
    if missing:
        raise KeyError(f"environment lacks {', '.join(missing)} needed for the machine fingerprint")
    python_minor = "".join(env["python_version"].split(".")[:2])
    memory_class_gib = memory_size_class_gib(int(env["memory_total_bytes"]))
    system = env["os"].split()[0].lower() if env["os"] else UNKNOWN
    readable = f"{env['arch']}-{system}-{env['logical_cores']}c-{memory_class_gib}gib-py{python_minor}"
    identity = "|".join(
        [env["cpu_model"], env["logical_cores"], str(memory_class_gib), env["os"], env["arch"], python_minor]
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{readable}-{digest}")


def memory_size_class_gib(total_bytes: int) -> int:
    """The next power of two in GiB at or above ``total_bytes``.

    Rounded up because kernels report a little less than the nominal size (24 GiB shows as 23.4 GiB), and
    to a power of two so small differences between otherwise identical machines do not split baselines.
    """
    if total_bytes <= 0:
        raise ValueError(f"memory size must be > 0 bytes, got {total_bytes}")
    gib = total_bytes / 2**30
    return 2 ** math.ceil(math.log2(gib)) if gib > 1 else 1


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Processor", "cpu model"):
                return value.strip()
    except OSError:
        pass
    return platform.processor() or UNKNOWN


def os_name() -> str:
    """The distribution's name on Linux (``Debian GNU/Linux 12 (bookworm)``), else ``system release``."""
    try:
        return platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):
        return f"{platform.system()} {platform.release()}"


def pyo3_version(cargo_lock: Path) -> str:
    """The version of the ``pyo3`` package pinned in ``native/Cargo.lock``, or "unknown"."""
    try:
        lock = tomllib.loads(cargo_lock.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return UNKNOWN
    for package in lock.get("package", []):
        if package.get("name") == "pyo3":
            return str(package.get("version", UNKNOWN))
    return UNKNOWN


def git_dirty(repo_root: Path) -> str:
    """ "true" if the checkout has uncommitted changes to tracked files, "false" if clean, else "unknown"."""
    status = _command_output(["git", "-C", str(repo_root), "status", "--porcelain", "--untracked-files=no"])
    if status == UNKNOWN:
        return UNKNOWN
    return "true" if status else "false"


def sky_rs_extension_path() -> Path | None:
    """The installed ``sky_rs`` extension module (the ``.so``), found without importing it."""
    spec = importlib.util.find_spec("sky_rs")
    if spec is None:
        return None
    if spec.submodule_search_locations:  # maturin installs a package directory around the module
        for location in spec.submodule_search_locations:
            candidates = sorted(Path(location).glob("sky_rs*.so")) + sorted(
                Path(location).glob("sky_rs*.pyd")
            )
            if candidates:
                return candidates[0]
        return None
    return Path(spec.origin) if spec.origin else None


def build_profile(extension: Path) -> str:
    """ "debug" if the extension carries DWARF debug info, "release" if not, "unknown" if it cannot tell."""
    readelf = shutil.which("readelf")
    if readelf is None:
        return UNKNOWN
    sections = _command_output([readelf, "--section-headers", "--wide", str(extension)])
    if sections == UNKNOWN or "Section Headers" not in sections:
        return UNKNOWN
    return "debug" if ".debug_info" in sections else "release"


def _command_output(command: list[str]) -> str:
    """The stripped stdout of ``command``, or "unknown" if it cannot run or fails."""
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return UNKNOWN
    if completed.returncode != 0:
        return UNKNOWN
    return completed.stdout.strip()


if __name__ == "__main__":  # pragma: no cover - a convenience for humans
    for key, value in collect_environment(Path(__file__).resolve().parents[2]).items():
        print(f"{key}: {value}")
    sys.exit(0)
