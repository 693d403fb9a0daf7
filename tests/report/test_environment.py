"""Environment metadata: every key, a fingerprint that is stable and ignores what it should ignore."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.measure import environment
from harness.measure.environment import (
    ENVIRONMENT_KEYS,
    build_profile,
    collect_environment,
    machine_fingerprint,
    memory_size_class_gib,
    pyo3_version,
)

from .synthetic import ENVIRONMENT

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_collect_environment_has_every_key_as_a_non_empty_string() -> None:
    collected = collect_environment(REPO_ROOT)
    assert tuple(collected) == ENVIRONMENT_KEYS
    for key, value in collected.items():
        assert isinstance(value, str) and value, key
    assert int(collected["logical_cores"]) >= 1
    assert collected["git_dirty"] in ("true", "false")
    assert len(collected["git_commit"]) == 40
    assert collected["pyo3_version"][0].isdigit()
    assert collected["machine_fingerprint"] == machine_fingerprint(collected)


def test_fingerprint_is_stable_and_ignores_commit_kernel_and_patch_version() -> None:
    other_run = {
        **ENVIRONMENT,
        "git_commit": "f" * 40,
        "git_dirty": "true",
        "kernel": "6.9.9",
        "python_version": "3.11.12",
        "memory_total_bytes": str(25 * 2**30),  # same class (32 GiB)
        "hostname": "somewhere-else",
    }
    assert machine_fingerprint(ENVIRONMENT) == machine_fingerprint(dict(ENVIRONMENT))
    assert machine_fingerprint(other_run) == machine_fingerprint(ENVIRONMENT)
    assert machine_fingerprint(ENVIRONMENT).startswith("x86_64-debian-2c-32gib-py311-")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cpu_model", "Another CPU"),
        ("logical_cores", "4"),
        ("memory_total_bytes", str(64 * 2**30)),
        ("arch", "aarch64"),
        ("python_version", "3.12.1"),
        ("os", "Ubuntu 24.04 LTS"),
    ],
)
def test_fingerprint_changes_with_the_kind_of_machine(key: str, value: str) -> None:
    assert machine_fingerprint({**ENVIRONMENT, key: value}) != machine_fingerprint(ENVIRONMENT)


def test_fingerprint_needs_its_keys() -> None:
    incomplete = {key: value for key, value in ENVIRONMENT.items() if key != "cpu_model"}
    with pytest.raises(KeyError, match="cpu_model"):
        machine_fingerprint(incomplete)


@pytest.mark.parametrize(
    ("total_bytes", "expected_gib"),
    [(int(23.4 * 2**30), 32), (16 * 2**30, 16), (int(15.6 * 2**30), 16), (2**29, 1), (int(2.1 * 2**30), 4)],
)
def test_memory_size_class(total_bytes: int, expected_gib: int) -> None:
    assert memory_size_class_gib(total_bytes) == expected_gib


def test_memory_size_class_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="> 0"):
        memory_size_class_gib(0)


def test_pyo3_version_from_cargo_lock(tmp_path: Path) -> None:
    lock = tmp_path / "Cargo.lock"
    lock.write_text(
        'version = 4\n\n[[package]]\nname = "pyo3-ffi"\nversion = "9.9.9"\n\n'
        '[[package]]\nname = "pyo3"\nversion = "0.30.1"\n',
        encoding="utf-8",
    )
    assert pyo3_version(lock) == "0.30.1"
    assert pyo3_version(tmp_path / "missing.lock") == "unknown"


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ("Section Headers:\n  [12] .text PROGBITS\n  [30] .debug_info PROGBITS\n", "debug"),
        ("Section Headers:\n  [12] .text PROGBITS\n  [20] .rodata PROGBITS\n", "release"),
        ("unknown", "unknown"),
    ],
)
def test_build_profile_reads_the_debug_info_section(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sections: str, expected: str
) -> None:
    monkeypatch.setattr(environment, "_command_output", lambda _command: sections)
    assert build_profile(tmp_path / "sky_rs.so") == expected


def test_installed_extension_is_a_release_build() -> None:
    """`make venv` builds sky_rs with the release profile (pyproject [tool.maturin] profile)."""
    extension = environment.sky_rs_extension_path()
    if extension is None:
        pytest.skip("sky_rs is not installed")
    assert build_profile(extension) == "release"
