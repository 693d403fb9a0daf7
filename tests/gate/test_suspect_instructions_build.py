"""The suspects' instruction stage on real builds: a scratch build whose Rust ``format_float`` does more
work (the experiment's Rust patch) is counted as such, and the clean build against itself is not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.gate.build import build_commit, resolve_commit
from harness.gate.experiment.patch import inject_rust_slowdown
from harness.gate.outcome import ExitCode, GateReport
from harness.gate.suspect_instructions import Evidence, callgrind_counter, count_suspects
from harness.results import GateComparison, GateOutcome, Impl

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
]

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = "mixed-p0"
# A time suspect that stage 2 cleared: only the counts can still see the added work.
CLEARED = GateComparison(
    "format_float", Impl.RUST, WORKLOAD, "time", 1.03, 0.99, 1.06, 0.4, GateOutcome.PASS,
    "stage 2 (confirm) decided: not confirmed",
)  # fmt: skip


def _more_rust_work(tree: Path) -> None:
    inject_rust_slowdown(tree, "format_float", 200)


def test_a_rust_patch_is_seen_by_the_counts_and_the_clean_build_is_not(tmp_path: Path) -> None:
    commit = resolve_commit(REPO, "HEAD")
    try:
        clean = build_commit(REPO, commit, slot="clean", gate_dir=tmp_path)
        patched = build_commit(
            REPO, commit, slot="rust-patched", gate_dir=tmp_path,
            patch=_more_rust_work,
        )  # fmt: skip
        counter = callgrind_counter(tmp_path / "scratch", calls=3)
        slower = count_suspects([CLEARED], (clean, patched), threshold=0.01, counter=counter)
        same = count_suspects([CLEARED], (clean, clean), threshold=0.01, counter=counter)
    finally:
        for slot in ("clean", "rust-patched"):
            tree = str(tmp_path / "trees" / slot)
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", tree],
                           capture_output=True, check=False)  # fmt: skip
    assert slower.evidence == {f"format_float/rust/{WORKLOAD}/time": Evidence.COUNTS_ONLY.value}
    (counted,) = slower.comparisons
    assert counted.metric == "instructions" and counted.change_ratio > 1.05
    report = GateReport("against", commit, "patched", comparisons=(CLEARED, *slower.comparisons))
    assert counted.outcome is GateOutcome.PASS and "warning" in counted.detail  # counts alone: a warning
    assert report.exit_code is ExitCode.NO_REGRESSION
    assert same.evidence == {f"format_float/rust/{WORKLOAD}/time": Evidence.NEITHER.value}
    assert same.comparisons[0].change_ratio == 1.0
