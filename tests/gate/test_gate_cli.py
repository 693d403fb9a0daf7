"""Exit codes of the gate command: 2 for usage errors, 3 when it cannot judge (no build, other machine)."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from harness.commands import gate as cli
from harness.gate.outcome import ExitCode
from harness.sinks.baseline import FORMAT_2_COLUMNS

REPO = Path(__file__).resolve().parents[2]


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    monkeypatch.chdir(REPO)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    arguments = parser.parse_args([*argv, "--out", str(tmp_path / "out")])
    exit_code: int = arguments.handler(arguments)
    return exit_code


def _first_commit() -> str:
    completed = subprocess.run(
        ["git", "-C", str(REPO), "rev-list", "--max-parents=0", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.split()[0]


def test_unknown_revision_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Told before waiting for the gate folder's lock (another gate may hold it for minutes).
    argv = ["gate", "--against", "no-such-revision-anywhere", "--lock-timeout", "0"]
    assert _run(argv, monkeypatch, tmp_path) == ExitCode.USAGE_OR_TOOL_ERROR
    assert "gate: usage error: git does not know the revision" in capsys.readouterr().err


def test_revision_without_the_worker_cannot_be_judged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The project's first commit predates harness/worker.py: nothing to run on the base side.
    code = _run(
        ["gate", "--against", _first_commit(), "--gate-dir", str(tmp_path / "g")], monkeypatch, tmp_path
    )
    assert code == ExitCode.CANNOT_JUDGE
    summary = (tmp_path / "out" / "gate-summary.md").read_text(encoding="utf-8")
    assert "cannot judge" in summary and "harness/worker.py" in summary
    assert "reason `base-predates-worker`" in summary
    verdict = json.loads((tmp_path / "out" / "gate-comparisons.json").read_text(encoding="utf-8"))
    assert verdict["cannot_judge"]["reason"] == "base-predates-worker"
    assert verdict["cannot_judge"]["side"] == "change"


def test_ratios_only_without_baseline_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _run(["gate", "--ratios-only"], monkeypatch, tmp_path) == ExitCode.USAGE_OR_TOOL_ERROR


def test_missing_baseline_file_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code = _run(["gate", "--baseline", str(tmp_path / "nope.csv")], monkeypatch, tmp_path)
    assert code == ExitCode.USAGE_OR_TOOL_ERROR


def test_baseline_of_another_machine_cannot_be_judged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    baseline = tmp_path / "other-machine.csv"
    row = "format_float,mixed-p1,python,1000.0,990.0,1010.0,20,,,,,,"  # a baseline has rows
    baseline.write_text(",".join(FORMAT_2_COLUMNS) + "\n" + row + "\n", encoding="utf-8")
    baseline.with_suffix(".json").write_text('{"fingerprint": "other-machine-0000"}', encoding="utf-8")
    code = _run(["gate", "--baseline", str(baseline)], monkeypatch, tmp_path)
    assert code == ExitCode.CANNOT_JUDGE
    summary = (tmp_path / "out" / "gate-summary.md").read_text(encoding="utf-8")
    assert "other-machine-0000" in summary
    verdict = json.loads((tmp_path / "out" / "gate-comparisons.json").read_text(encoding="utf-8"))
    assert verdict["cannot_judge"]["reason"] == "other-machine-baseline"


def test_unknown_option_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        _run(["gate", "--no-such-option"], monkeypatch, tmp_path)
    assert raised.value.code == 2


def test_bad_fraction_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        _run(["gate", "--min-effect", "1.5"], monkeypatch, tmp_path)
    assert raised.value.code == 2


def test_bad_pushgateway_address_is_a_usage_error_before_any_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code = _run(
        ["gate", "--pushgateway", "no-port-here", "--gate-dir", str(tmp_path / "g")], monkeypatch, tmp_path
    )
    assert code == ExitCode.USAGE_OR_TOOL_ERROR
    assert not (tmp_path / "g").exists()  # refused before any worktree or build
