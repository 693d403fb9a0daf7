"""The stand-in 13th pair (tests/pairs_fixture/), registered with --pairs: parity, a quick bench, a quick
gate; and a pair whose outputs differ is refused before it is timed."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = "tests.pairs_fixture.pairs"
# Kept between runs (ignored by git, as .skybench/gate is), so the base build is incremental after the first.
TEST_GATE_DIR = REPO / ".skybench" / "test-gate"
# The tests that build into TEST_GATE_DIR run on one worker when the suite runs in parallel.
pytestmark = pytest.mark.xdist_group("test-gate")
_QUICK_BENCH = ["--quick", "--no-memory", "--no-criterion", "--no-floors", "--no-progress", "--no-push"]


def _skybench(arguments: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *arguments],
        cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.timeout(600)
def test_a_quick_bench_times_the_stand_in_pair_and_every_sink_names_it(tmp_path: Path) -> None:
    completed = _skybench(["bench", *_QUICK_BENCH, "--only", "count_vowels", "--pairs", FIXTURE,
                           "--out", str(tmp_path)], timeout_s=300)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    run = tmp_path / "latest"
    timed = {(row["function"], row["impl"]) for row in _rows(run / "results.csv")}
    assert {("count_vowels", "rust"), ("count_vowels", "python")} <= timed
    assert ("count_vowels", "fallback") not in timed, "the fallback does not route a registered pair"
    assert [row["function"] for row in _rows(run / "speedups.csv")] == ["_noop", "count_vowels"]
    assert _rows(run / "not_comparable.csv") == []
    assert "| count_vowels | sentences |" in (run / "report.md").read_text(encoding="utf-8")
    assert 'function="count_vowels"' in (run / "metrics.prom").read_text(encoding="utf-8")


@pytest.mark.timeout(600)
def test_a_pair_whose_outputs_differ_is_refused_before_timing(tmp_path: Path) -> None:
    pairs = ["--only", "count_vowels_wrong", "--pairs", "tests.pairs_fixture.mismatch"]
    completed = _skybench(["bench", *_QUICK_BENCH, *pairs, "--out", str(tmp_path)], timeout_s=300)
    assert completed.returncode == 0, completed.stderr
    run = tmp_path / "latest"
    refused = _rows(run / "not_comparable.csv")
    assert [(row["function"], row["workload"]) for row in refused] == [("count_vowels_wrong", "words")]
    assert "('aloe'): rust returned 4; python returned 3" in refused[0]["difference"]
    assert all(row["function"] != "count_vowels_wrong" for row in _rows(run / "results.csv"))


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the first run builds the base commit's sky_rs (release, fat LTO)
def test_a_quick_gate_judges_the_stand_in_pair_on_both_builds(tmp_path: Path) -> None:
    pairs = ["--only", "count_vowels", "--pairs", FIXTURE]
    places = ["--gate-dir", str(TEST_GATE_DIR), "--out", str(tmp_path)]
    completed = _skybench(
        ["gate", "--quick", *pairs, "--against", "HEAD", *places, "--no-push"], timeout_s=1800
    )
    # An A/A run on a busy machine may flag noise (exit 1); what matters here is that it judged the pair.
    assert completed.returncode in (0, 1), completed.stderr
    comparisons = json.loads((tmp_path / "gate-comparisons.json").read_text(encoding="utf-8"))
    judged = {(c["function"], c["impl"], c["metric"]) for c in comparisons["comparisons"]}
    assert {("count_vowels", "rust", "time"), ("count_vowels", "python", "time")} <= judged
    assert {function for function, _, _ in judged} == {"count_vowels"}
