"""The differential profile of a regression names what grew: a Python loop injected into one build's
reference shows up among cProfile's top growers; the same build against itself shows nothing."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from harness.gate.build import Build
from harness.gate.profile import profile_regression, read_callgrind, top_growers
from harness.results import GateComparison, GateOutcome, Impl

REPO = Path(__file__).resolve().parents[2]
SPIN = """

def _injected_spin() -> int:
    total = 0
    for step in range(400):
        total += step
    return total
"""


def _tree(folder: Path, *, slowed: bool) -> Path:
    """A copy of this tree's Python package; ``slowed``: truncate_long_string spins first."""
    shutil.copytree(REPO / "harness", folder / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    if slowed:
        module = folder / "harness" / "functions" / "reference" / "string_utils.py"
        text = module.read_text(encoding="utf-8") + SPIN
        docstring = (
            '    """SkyPilot\'s truncation, quirks included (spec 2.6): end mode may cut past the limit."""\n'
        )
        text = text.replace(docstring, docstring + "    _injected_spin()\n")
        module.write_text(text, encoding="utf-8")
    return folder


def _regression() -> GateComparison:
    return GateComparison(
        function="truncate_long_string", impl=Impl.PYTHON, workload="commands-25", metric="time",
        change_ratio=1.4, ci_low=1.3, ci_high=1.5, p_value_adjusted=0.001, outcome=GateOutcome.REGRESSION,
    )  # fmt: skip


@pytest.mark.slow
def test_the_injected_python_loop_is_the_top_grower(tmp_path: Path) -> None:
    base = Build("base", "b", _tree(tmp_path / "base", slowed=False), Path(sys.executable))
    head = Build("candidate", "h", _tree(tmp_path / "head", slowed=True), Path(sys.executable))
    path = profile_regression(base, head, _regression(), tmp_path / "profiles", tmp_path / "scratch")
    text = path.read_text(encoding="utf-8")
    own = text.split("### Own time", 1)[1].split("###", 1)[0]
    first_row = next(line for line in own.splitlines() if line.startswith("| `"))
    assert "_injected_spin" in first_row, own
    assert "## Instructions (callgrind)" in text
    if shutil.which("valgrind"):  # the interpreter ran the loop: its instruction counts grew
        inclusive = text.split("### Inclusive", 1)[1].split("###", 1)[0]
        assert "| `" in inclusive, inclusive


@pytest.mark.slow
def test_a_build_against_itself_shows_nothing_grew_in_instructions(tmp_path: Path) -> None:
    if not shutil.which("valgrind"):
        pytest.skip("valgrind not installed")
    tree = _tree(tmp_path / "tree", slowed=False)
    same = Build("base", "b", tree, Path(sys.executable))
    also = Build("candidate", "b", tree, Path(sys.executable))
    text = profile_regression(same, also, _regression(), tmp_path / "p", tmp_path / "scratch").read_text()
    instructions = text.split("## Python functions", 1)[0]
    assert instructions.count("Nothing grew beyond noise") == 2, instructions
    base_counts = read_callgrind(tmp_path / "p" / "truncate_long_string--python--commands-25.base.callgrind",
                                 inclusive=False)  # fmt: skip
    assert base_counts and all(value >= 0 for value in base_counts.values())


def test_growers_are_per_call_and_ignore_noise() -> None:
    base = {"a": 1000.0, "b": 10.0}
    head = {"a": 1000.0 * 2, "b": 10.5, "c": 600.0}  # head ran twice as many calls
    growers = top_growers(base, head, per_call=(10, 20))
    assert [(g.name, g.base, g.head) for g in growers] == [("c", 0.0, 30.0)]
