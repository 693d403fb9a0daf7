"""register_pairs, SKYBENCH_PAIRS, [tool.skybench] pairs and --pairs: what registers, and every refusal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness.commands.pairs import add_pairs_argument
from harness.functions.registry import (
    FUNCTIONS,
    PAIRS_ENV,
    PairsError,
    build_registry,
    builtin_function_names,
    configured_pair_modules,
    find_workload,
    register_pairs,
    resolve_callable,
)
from harness.gate.config import ConfigError, parse_config
from harness.results import Impl

REPO = Path(__file__).resolve().parents[2]
FIXTURE = "tests.pairs_fixture.pairs"
_GOOD_PAIR = """
from harness.functions.pairs.declaration import PairDeclaration
from harness.functions.pairs.workload_types import batch_workload
PAIRS = (PairDeclaration(name={name!r}, python="operator:abs", rust="builtins:abs",
         workloads=(batch_workload({name!r}, "one", "abs(-1)", lambda _seed: ((-1,),)),)),)
"""


def _module(directory: Path, source: str) -> str:
    """A module of ``source`` in ``directory``, named after the folder (a fresh name: no import cache)."""
    name = "pairs_" + re.sub(r"\W", "_", directory.name)
    (directory / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return name


@pytest.fixture
def modules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_registered_module_adds_its_pair_after_the_twelve() -> None:
    assert register_pairs(FIXTURE) == ("count_vowels",)
    assert list(FUNCTIONS) == [*builtin_function_names(), "count_vowels"]
    pair = build_registry()["count_vowels"]
    assert pair.claim is not None and pair.claim.claimed_speedup == 1.5
    assert find_workload("count_vowels", "sentences") is pair.workloads[0]
    fast = resolve_callable("count_vowels", Impl.RUST)
    assert fast.__name__ == "count_vowels_fast" and fast("aeiou xyz") == 5


def test_registering_shares_the_module_with_workers_started_later() -> None:
    register_pairs(FIXTURE)
    assert os.environ[PAIRS_ENV] == FIXTURE
    assert str(REPO) in os.environ["PYTHONPATH"].split(os.pathsep)
    register_pairs(FIXTURE)  # idempotent: the same module twice is one registration
    assert list(FUNCTIONS).count("count_vowels") == 1


def test_the_environment_and_pyproject_name_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.skybench]\npairs = ["from_pyproject"]\n', encoding="utf-8"
    )
    monkeypatch.setenv(PAIRS_ENV, "from_env, other")
    assert configured_pair_modules(tmp_path) == ("from_env", "other", "from_pyproject")


def test_the_environment_variable_registers_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PAIRS_ENV, FIXTURE)
    assert "count_vowels" in FUNCTIONS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[tool.skybench]\npairs = 'one_module'\n", "must be a list of module names"),
        ("[tool.skybench]\npairs = [1]\n", "must be a list of module names"),
        ("[tool.skybench\n", "pyproject.toml"),
    ],
)
def test_a_bad_pyproject_entry_is_refused(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(content, encoding="utf-8")
    with pytest.raises(PairsError, match=message):
        configured_pair_modules(tmp_path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("X = 1\n", "declares no pairs"),
        ("PAIRS = ()\n", "declares no pairs"),
        ("PAIRS = ('count_vowels',)\n", r"PAIRS\[0\] is a str, not a PairDeclaration"),
        (
            _GOOD_PAIR.format(name="hash_file"),
            r"pair hash_file of pairs_\w+ is already declared by harness.functions.pairs",
        ),
        (_GOOD_PAIR.format(name="has space"), "pair name 'has space' is not an identifier"),
        (_GOOD_PAIR.replace('rust="builtins:abs"', 'rust="not a target"').format(name="x"), "rust must be"),
        (_GOOD_PAIR.replace("(batch_workload", "()or(batch_workload").format(name="x"), ""),
        ("import no_such_dependency_here\n", "No module named 'no_such_dependency_here'"),
        ("raise RuntimeError('broken at import')\n", "RuntimeError: broken at import"),
    ],
)
def test_a_bad_module_is_refused_with_its_reason(modules_dir: Path, source: str, message: str) -> None:
    if not message:  # the control: a good declaration registers
        assert register_pairs(_module(modules_dir, source)) == ("x",)
        return
    with pytest.raises(PairsError, match=message):
        register_pairs(_module(modules_dir, source))
    assert list(FUNCTIONS) == list(builtin_function_names())  # nothing half-registered


def test_two_declarations_of_one_name_in_a_module_are_refused(modules_dir: Path) -> None:
    source = _GOOD_PAIR.format(name="twice") + "PAIRS = PAIRS + PAIRS\n"
    with pytest.raises(PairsError, match="declares twice more than once"):
        register_pairs(_module(modules_dir, source))


def test_an_unknown_module_is_refused() -> None:
    with pytest.raises(PairsError, match="no pair module 'no_such_pairs_module' on the import path"):
        register_pairs("no_such_pairs_module")


def test_only_may_name_a_pair_before_its_pairs_option() -> None:
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    parser.add_argument("--only", action="append", choices=FUNCTIONS)
    add_pairs_argument(parser)
    arguments = parser.parse_args(["--only", "count_vowels", "--pairs", FIXTURE])
    assert arguments.only == ["count_vowels"] and arguments.pairs == [FIXTURE]


@pytest.mark.parametrize(
    ("command", "argv", "message"),
    [
        ("bench", ["--pairs", "no_such_pairs_module"], "no pair module 'no_such_pairs_module'"),
        ("bench", ["--pairs", "tests.pairs_fixture"], "declares no pairs"),
        ("bench", ["--pairs", FIXTURE, "--pairs", "tests.pairs_fixture.duplicate"], "already declared"),
        *(
            (command, ["--pairs", "no_such_pairs_module"], "no pair module")
            for command in ("gate", "calibrate", "experiment", "baseline")
        ),
    ],
)
def test_every_measuring_command_refuses_a_bad_module_with_one_line(
    command: str, argv: list[str], message: str
) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "harness", command, "--quick", *argv],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], completed.stderr


def test_the_gate_config_takes_a_floor_for_a_registered_pair_only() -> None:
    data: dict[str, Any] = {
        "policy": tomllib.loads((REPO / "harness" / "gate" / "gate.toml").read_text(encoding="utf-8"))[
            "policy"
        ],
        "floors": {"default": 1.0, "functions": {"count_vowels": 1.2}},
    }
    with pytest.raises(ConfigError, match=re.escape("unknown [floors.functions] keys ['count_vowels']")):
        parse_config(data)
    register_pairs(FIXTURE)
    assert parse_config(data).function_floors == {"count_vowels": 1.2}
