"""``skybench baseline --from-run RUN_DIR``: a finished run becomes the baseline only if it is one the
command itself would have measured (whole, a bench run, every default workload of its mode, its rounds)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from harness.commands import baseline as baseline_cli
from harness.commands.errors import run_handler
from harness.functions.pairs.workload_types import Mode
from harness.functions.registry import build_registry
from harness.results import Impl, RunKind, RunResult
from harness.run_json import save_run
from harness.sinks.baseline import load_baseline
from harness.stats import with_fallback

from .synthetic import ENVIRONMENT, pair, synthetic_run, timing


def whole_quick_run() -> RunResult:
    """A quick bench run of every default workload, five rounds each (the quick plan takes 4 to 10)."""
    pairs = tuple(
        with_fallback(
            pair(name, workload.id, 2_000.0, 500.0, python_bytes=100.0, rust_bytes=10.0),
            timing(name, Impl.FALLBACK, workload.id, 520.0),
            resamples=50,
        )
        for name, registered in build_registry().items()
        for workload in registered.workloads_for(Mode.QUICK)
    )
    return dataclasses.replace(synthetic_run(), pairs=pairs, not_comparable=())


def record(tmp_path: Path, run: RunResult | None, *extra: str) -> int:
    run_dir = tmp_path / "runs" / "one"
    run_dir.mkdir(parents=True, exist_ok=True)
    if run is not None:
        save_run(run, run_dir)
    parser = argparse.ArgumentParser()
    baseline_cli.register(parser.add_subparsers())
    arguments = parser.parse_args(
        ["baseline", "--from-run", str(run_dir), "--baselines-dir", str(tmp_path / "baselines"), *extra]
    )
    return run_handler("baseline", arguments.handler, arguments)


def baseline_csv(tmp_path: Path) -> Path:
    return tmp_path / "baselines" / f"{ENVIRONMENT['machine_fingerprint']}.csv"


def test_a_whole_bench_run_is_recorded_without_measuring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = whole_quick_run()
    assert record(tmp_path, run) == 0
    baseline = load_baseline(baseline_csv(tmp_path))
    # Three sides per pair (Python, Rust, the fallback) and the call floor's two.
    assert len(baseline.rows) == 3 * len(run.pairs) + 2
    assert baseline.run_id == run.run_id and baseline.mode == "quick"
    assert "no previous baseline" in capsys.readouterr().out


def _without_first_pair(run: RunResult) -> RunResult:
    return dataclasses.replace(run, pairs=run.pairs[1:])


def _one_pair_with_three_rounds(run: RunResult) -> RunResult:
    first = run.pairs[0]
    short = dataclasses.replace(
        first, rust=dataclasses.replace(first.rust, values_ns=first.rust.values_ns[:3])
    )
    return dataclasses.replace(run, pairs=(short, *run.pairs[1:]))


def _without_fallback(run: RunResult) -> RunResult:
    return dataclasses.replace(run, pairs=(dataclasses.replace(run.pairs[0], fallback=None), *run.pairs[1:]))


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda run: dataclasses.replace(run, interrupted=True), "was interrupted"),
        (lambda run: dataclasses.replace(run, kind=RunKind.GATE), "not a bench run"),
        (_without_first_pair, "lacks 1 workload"),
        (lambda run: dataclasses.replace(run, pairs=(*run.pairs, synthetic_run().pairs[0])), "not a default"),
        (_one_pair_with_three_rounds, "has 3 rounds, outside the quick bench plan's 4-10"),
        (_without_fallback, "did not time the fallback"),
    ],
    ids=["interrupted", "gate-run", "missing-workload", "foreign-pair", "tuned-rounds", "no-fallback"],
)
def test_a_run_the_command_would_not_have_made_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil: object,
    reason: str,
) -> None:
    assert callable(spoil)
    assert record(tmp_path, spoil(whole_quick_run())) == 2
    assert reason in capsys.readouterr().err
    assert not baseline_csv(tmp_path).exists()


def test_a_folder_without_a_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert record(tmp_path, None) == 2
    assert "no run.json here" in capsys.readouterr().err
    assert not baseline_csv(tmp_path).exists()


@pytest.mark.parametrize("flag", [["--quick"], ["--only", "base36_encode"], ["--no-memory"]])
def test_measuring_flags_beside_from_run_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    assert record(tmp_path, whole_quick_run(), *flag) == 2
    assert "--from-run records a finished run" in capsys.readouterr().err
    assert not baseline_csv(tmp_path).exists()
