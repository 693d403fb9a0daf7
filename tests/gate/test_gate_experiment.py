"""Plumbing of the experiment and of the worktree build: the patch applies, compiles and runs."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType

import pytest

from harness.gate.build import build_commit, resolve_commit
from harness.gate.experiment.options import ExperimentOptions, ResultRow
from harness.gate.experiment.outputs import results_markdown, write_results
from harness.gate.experiment.patch import (
    SPIN_VARIABLE,
    PatchError,
    inject_python_slowdown,
    inject_rust_slowdown,
    inject_slowdowns,
    rust_spin_lines,
)
from harness.gate.experiment.sizing import SIZING_TOLERANCE, size_iterations
from harness.gate.measure import Target

REPO = Path(__file__).resolve().parents[2]


def _copy_reference(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(
        REPO / "harness" / "functions" / "reference", tree / "harness" / "functions" / "reference"
    )
    return tree


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"patched_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_patch_inserts_a_loop_that_runs_and_keeps_the_result(tmp_path: Path) -> None:
    tree = _copy_reference(tmp_path)
    patched_path = inject_python_slowdown(tree, "format_float", 12345)
    assert patched_path.name == "string_utils.py"
    module = _load(patched_path)
    function = module.format_float
    assert SPIN_VARIABLE in function.__code__.co_varnames
    assert patched_path.read_text(encoding="utf-8").count(f"{SPIN_VARIABLE} = {SPIN_VARIABLE}\n") == 12345
    assert function.__doc__ is not None  # inserted after the docstring, which stays the docstring
    assert function(2.0) == "2" and function(1.25, 1) == "1.2" and function(7) == "7"


def test_rust_patch_goes_first_in_the_pyfunction_body(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(REPO / "native" / "src" / "python", tree / "native" / "src" / "python")
    patched_path = inject_rust_slowdown(tree, "format_float", 777)
    source = patched_path.read_text(encoding="utf-8")
    signature_at = source.index("pub fn format_float")  # generic over a lifetime: `format_float<'py>(`
    body_at = source.index("{\n", signature_at) + 2
    assert source[body_at:].startswith("".join(rust_spin_lines(777)))
    assert source.count("std::hint::black_box(777)") == 1
    with pytest.raises(PatchError):
        inject_rust_slowdown(tree, "no_such_function", 1)


def test_patch_of_an_unknown_function_is_an_error(tmp_path: Path) -> None:
    tree = _copy_reference(tmp_path)
    with pytest.raises(PatchError, match="no_such_function"):
        inject_python_slowdown(tree, "no_such_function", 10)
    with pytest.raises(ValueError, match="iterations"):
        inject_python_slowdown(tree, "format_float", -1)


def test_results_table_counts(tmp_path: Path) -> None:
    rows = [
        ResultRow("A/A", "(whole suite)", "", 0.0, 3, 0, 1, None),
        ResultRow("injected", "format_float", "mixed-p0", 0.10, 3, 3, 0, 0.104, 5, sized_change=0.097),
    ]
    markdown = results_markdown(rows, "test machine")
    assert "| A/A | (whole suite) | +0% | - | 3 | - | 1/3 | - |" in markdown
    assert "| injected | format_float / mixed-p0 | +10% | +9.7% | 3 | 3/3 | 0/3 | +10.4% |" in markdown
    csv_path, _ = write_results(rows, tmp_path, "test machine")
    assert (
        csv_path.read_text(encoding="utf-8")
        .splitlines()[2]
        .startswith("injected,format_float,mixed-p0,0.1,5,3,3")
    )


def _patch_format_float(tree: Path, *, iterations: int) -> None:
    inject_python_slowdown(tree, "format_float", iterations)


@pytest.mark.slow
def test_worktree_build_of_head_then_a_python_only_patch(tmp_path: Path) -> None:
    commit = resolve_commit(REPO, "HEAD")
    try:
        build = build_commit(REPO, commit, slot="test", gate_dir=tmp_path)
        probe = "import json, harness, sky_rs; print(json.dumps([harness.__file__, sky_rs.__file__]))"
        harness_file, sky_rs_file = json.loads(
            subprocess.run(
                [str(build.python), "-c", probe], cwd=build.tree, capture_output=True, text=True, check=True
            ).stdout
        )
        assert Path(harness_file).is_relative_to(build.tree)
        assert Path(sky_rs_file).is_relative_to(tmp_path / "venvs" / "test")
        assert subprocess.run(["git", "-C", str(build.tree), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip() == commit  # fmt: skip
        # The experiment's cheapest setting: patch the Python reference, keep the native build.
        patched = build_commit(
            REPO, commit, slot="test", gate_dir=tmp_path, rebuild_native=False,
            patch=partial(_patch_format_float, iterations=1),
        )  # fmt: skip
        source = (patched.tree / "harness" / "functions" / "reference" / "string_utils.py").read_text(
            encoding="utf-8"
        )
        assert source.count(f"{SPIN_VARIABLE} = {SPIN_VARIABLE}") == 1
        check = "from harness.functions.reference import format_float; assert format_float(2.5) == '2.5'"
        subprocess.run([str(patched.python), "-c", check], cwd=patched.tree, check=True)
    finally:
        tree = str(tmp_path / "trees" / "test")
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", tree], capture_output=True, check=False
        )


Measure = Callable[[dict[Target, int]], dict[Target, float]]


def _loop_model(
    fixed_ns: dict[Target, float], per_iteration_ns: float, base_ns: float
) -> tuple[Measure, list[dict[Target, int]]]:
    """A loop whose every call pays ``fixed_ns`` of set-up on top of its iterations (Python's short loops)."""
    calls: list[dict[Target, int]] = []

    def measure(iterations: dict[Target, int]) -> dict[Target, float]:
        calls.append(dict(iterations))
        return {t: (fixed_ns[t] + per_iteration_ns * n) / base_ns for t, n in iterations.items()}

    return measure, calls


def test_sizing_corrects_a_loop_that_costs_more_than_its_iterations() -> None:
    fast, slow = Target("format_float", "mixed-p0"), Target("get_cpu_count", "host")
    # 1000 ns calls, 10 ns per iteration, 60 ns of set-up: the arithmetic guess (10 iterations) gives +16%.
    measure, calls = _loop_model({fast: 60.0, slow: 0.0}, 10.0, 1000.0)
    iterations, measured = size_iterations({fast: 10, slow: 10}, 0.10, measure)
    assert calls[0] == {fast: 10, slow: 10}
    assert len(calls) >= 2
    assert abs(measured[fast] - 0.10) <= 0.10 * SIZING_TOLERANCE
    assert abs(measured[slow] - 0.10) <= 0.10 * SIZING_TOLERANCE
    assert iterations[fast] < 10 and iterations[slow] == 10


def test_sizing_keeps_the_closest_attempt_when_it_cannot_converge() -> None:
    target = Target("format_float", "mixed-p0")
    # Set-up alone costs +30%: no iteration count reaches +10%; the smallest loop is the closest.
    measure, calls = _loop_model({target: 300.0}, 10.0, 1000.0)
    iterations, measured = size_iterations({target: 10}, 0.10, measure, attempts=3)
    assert len(calls) == 3
    assert iterations == {target: 1}
    assert measured[target] == pytest.approx(0.31)


def test_one_target_per_function() -> None:
    with pytest.raises(ValueError, match="one target per function"):
        ExperimentOptions(
            repo=REPO, targets=(Target("format_float", "mixed-p0"), Target("format_float", "mixed-p2"))
        )


def testinject_slowdowns_slows_every_target_function(tmp_path: Path) -> None:
    tree = _copy_reference(tmp_path)
    inject_slowdowns(tree, iterations=(("format_float", 3), ("get_cpu_count", 4)), rust=False)
    sources = "".join(
        path.read_text(encoding="utf-8")
        for path in (tree / "harness" / "functions" / "reference").glob("*.py")
    )
    assert sources.count(f"{SPIN_VARIABLE} = {SPIN_VARIABLE}") == 3 + 4
