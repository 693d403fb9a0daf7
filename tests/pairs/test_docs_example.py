"""docs/pairs.md's third-party example runs as written: extracted from the page, loaded through --pairs (and
through pyproject.toml), checked for parity and timed by the quick bench."""

from __future__ import annotations

import csv
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "pairs.md"
_QUICK_BENCH = ["--quick", "--no-memory", "--no-criterion", "--no-floors", "--no-progress", "--no-push"]


def example_module() -> str:
    """The page's Python block that starts with ``# example_pairs.py``."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    examples = [block for block in blocks if block.startswith("# example_pairs.py\n")]
    assert len(examples) == 1, "docs/pairs.md must hold exactly one example_pairs.py block"
    return str(examples[0])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding the example module, as a user's project would."""
    (tmp_path / "example_pairs.py").write_text(example_module(), encoding="utf-8")
    return tmp_path


def _bench(project: Path, extra: list[str]) -> Path:
    out = project / "out"
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "bench", *_QUICK_BENCH, "--only", "mean_word_length", *extra,
         "--out", str(out)],
        cwd=project, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return out / "latest"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.timeout(600)
def test_the_documented_example_passes_parity_and_is_timed_through_pairs(project: Path) -> None:
    run = _bench(project, ["--pairs", "example_pairs"])
    assert _rows(run / "not_comparable.csv") == []
    timed = {(row["function"], row["impl"], row["workload"]) for row in _rows(run / "results.csv")}
    assert {("mean_word_length", side, "short-100") for side in ("rust", "python")} <= timed
    assert all(workload != "long-100" for _, _, workload in timed)  # default and full mode only
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "| mean_word_length | short-100 |" in report and "3x" in report


@pytest.mark.timeout(600)
def test_the_documented_pyproject_entry_loads_the_example(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.skybench]\npairs = ["example_pairs"]\n', encoding="utf-8")
    run = _bench(project, [])
    assert {row["function"] for row in _rows(run / "speedups.csv")} >= {"mean_word_length"}


def test_the_example_needs_its_tolerance(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The documented float tolerance is not decoration: strictly compared, the port's rounding differs.
    monkeypatch.syspath_prepend(str(project))
    example_pairs = importlib.import_module("example_pairs")
    from harness.functions.pairs.workload_types import prepare  # noqa: PLC0415
    from harness.measure.parity import check_batch  # noqa: PLC0415

    (declaration,) = example_pairs.PAIRS
    batch = prepare(declaration.workloads[1], project / "scratch", seed=0).batch
    sides = (example_pairs.mean_word_length_port, example_pairs.mean_word_length)
    assert check_batch(*sides, batch) is not None
    assert check_batch(*sides, batch, declaration.parity) is None
