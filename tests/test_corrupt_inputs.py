"""Every command, fed a spoilt input file, exits 2 with one line naming the file and the problem.

Each case runs the real command in a subprocess, as a user or CI would, on a folder of valid files (made by
the harness's own writers) of which exactly one is spoilt: truncated, random bytes, a value of the wrong type,
a missing or unknown key. The problem named must be the one made, which shows the file was checked where it
is read, not caught by the last-resort "internal error" of the command layer.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.commands.errors import EXIT_USAGE, run_handler
from harness.measure.environment import collect_environment
from harness.run_json import save_run
from harness.sinks.baseline import load_baseline

from .corrupt_files import (
    DOWN,
    REPO,
    edit_json,
    make_baseline,
    make_gate_toml,
    make_run_folder,
    random_bytes,
    truncated,
)
from .telemetry.synthetic import synthetic_gate_run

PUBLISH = [
    "publish",
    "{folder}",
    "--pushgateway",
    str(DOWN),
    "--statsd",
    str(DOWN),
    "--telemetry-timeout",
    "0.5",
]


@dataclass(frozen=True)
class Case:
    """One spoilt file (``target``, relative to the case folder) and what the command must say about it."""

    target: str
    spoil: Callable[[bytes], bytes]
    problem: str  # a regex the one line of stderr must match, besides the file's path
    command: list[str] = field(default_factory=lambda: PUBLISH)
    module: str = "harness"
    env: dict[str, str] = field(default_factory=dict)


def _set(path: tuple[Any, ...], value: object) -> Callable[[bytes], bytes]:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return lambda raw: edit_json(raw, change)


def _drop(key: str) -> Callable[[bytes], bytes]:
    return lambda raw: edit_json(raw, lambda data: data.pop(key))


def _replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def spoil(raw: bytes) -> bytes:
        assert old in raw, old
        return raw.replace(old, new, 1)

    return spoil


def _edit_csv(name: str, edit: Callable[[list[list[bytes]], int], None]) -> Callable[[bytes], bytes]:
    """``edit(rows, index of column name)`` on the CSV's rows of cells (our CSVs quote nothing)."""

    def spoil(raw: bytes) -> bytes:
        rows = [line.split(b",") for line in raw.splitlines()]
        edit(rows, rows[0].index(name.encode()))
        return b"\n".join(b",".join(cells) for cells in rows) + b"\n"

    return spoil


def _drop_cells(rows: list[list[bytes]], index: int) -> None:
    for cells in rows:
        del cells[index]


def _first_cell_fast(rows: list[list[bytes]], index: int) -> None:
    rows[1][index] = b"fast"


def _constant(content: bytes) -> Callable[[bytes], bytes]:
    return lambda _raw: content


RANDOM = _constant(random_bytes(512))
GATE_CONFIG = ["gate", "--config", "{file}", "--no-push"]
GATE_BASELINE = ["gate", "--baseline", "{folder}/synthetic-machine.csv", "--no-push"]

CASES: dict[str, Case] = {
    # run.json of a bench run folder
    "run.json truncated": Case("run.json", truncated, "not valid JSON: EOF while parsing"),
    "run.json random bytes": Case("run.json", RANDOM, "not valid JSON"),
    "run.json not an object": Case("run.json", _constant(b"[1, 2]"), "Input should be an object"),
    "run.json wrong type": Case("run.json", _set(("run_id",), 5), "run_id: Input should be a valid string"),
    "run.json nested wrong type": Case(
        "run.json", _set(("pairs", 0, "rust", "values_ns"), "fast"), r"pairs\.0\.rust\.values_ns: .*array"
    ),
    "run.json missing key": Case("run.json", _drop("pairs"), "pairs: Field required"),
    "run.json other format": Case("run.json", _set(("format_version",), 99), "format 99 is not supported"),
    # telemetry.json
    "telemetry.json truncated": Case("telemetry.json", truncated, "not valid JSON"),
    "telemetry.json random bytes": Case("telemetry.json", RANDOM, "not valid JSON"),
    "telemetry.json keyless": Case("telemetry.json", _constant(b"{}"), "Field required"),
    "telemetry.json wrong type": Case(
        "telemetry.json", _set(("sinks", 0, "delivered"), "no"), r"sinks\.0\.delivered: .*boolean"
    ),
    "telemetry.json unknown sink": Case(
        "telemetry.json", _set(("sinks", 0, "sink"), "carrier-pigeon"), "sinks must be distinct and among"
    ),
    # the kept payloads
    "statsd.txt non-ASCII": Case(
        "unsent/statsd.txt", lambda raw: raw + "skybench.caf\u00e9:1|g\n".encode(), r"not ASCII \(byte \d+\)"
    ),
    "statsd.txt garbage": Case("unsent/statsd.txt", _constant(b"hello world\n"), "line 1: expected NAME"),
    "statsd.txt random bytes": Case("unsent/statsd.txt", RANDOM, "not ASCII"),
    "statsd.txt nan": Case("unsent/statsd.txt", _constant(b"skybench.x:nan|g\n"), "value must be finite"),
    "pushgateway.prom garbage": Case(
        "unsent/pushgateway.prom", _constant(b"this is not { prometheus\n"), "not Prometheus text"
    ),
    "pushgateway.prom random bytes": Case("unsent/pushgateway.prom", RANDOM, "not UTF-8"),
    # the same command under its own module name
    "python -m harness.telemetry, run.json truncated": Case(
        "run.json", truncated, "not valid JSON", module="harness.telemetry"
    ),
    "python -m harness.telemetry, telemetry.json random": Case(
        "telemetry.json", RANDOM, "not valid JSON", module="harness.telemetry"
    ),
    # the gate's settings, for each command that reads them
    "gate.toml truncated": Case(
        "gate.toml", lambda raw: truncated(raw, 0.42), "not valid TOML|must set", GATE_CONFIG
    ),
    "gate.toml random bytes": Case("gate.toml", RANDOM, "not UTF-8|not valid TOML", GATE_CONFIG),
    "gate.toml wrong type": Case(
        "gate.toml",
        _replace(b"alpha = 0.05", b'alpha = "0.05"'),
        "alpha: Input should be a valid number",
        GATE_CONFIG,
    ),
    "gate.toml missing key": Case(
        "gate.toml", _replace(b"min_effect = 0.05", b""), r"\[policy\] must set \['min_effect'\]", GATE_CONFIG
    ),
    "gate.toml unknown key": Case(
        "gate.toml",
        _replace(b"[policy]\n", b"[policy]\nalpah = 0.05\n"),
        r"unknown \[policy\] keys \['alpah",
        GATE_CONFIG,
    ),
    "calibrate, gate.toml wrong type": Case(
        "gate.toml",
        _replace(b"max_suspects = 24", b"max_suspects = 2.5"),
        "max_suspects: Input should be",
        ["calibrate", "--config", "{file}", "--runs", "2"],
    ),
    "experiment, gate.toml unknown table": Case(
        "gate.toml",
        lambda raw: raw + b"\n[polcy]\nalpha = 0.05\n",
        r"unknown tables or keys \['polcy'\]",
        ["experiment", "--config", "{file}"],
    ),
    # a committed baseline, which `gate --baseline` reads (CSV cases without the sidecar: one damage each)
    "baseline.csv truncated mid-row": Case(
        "synthetic-machine.csv", lambda raw: truncated(raw, 0.5), r"\.csv:\d+: ", GATE_BASELINE
    ),
    "baseline.csv random bytes": Case("synthetic-machine.csv", RANDOM, "not UTF-8|not CSV", GATE_BASELINE),
    "baseline.csv wrong type": Case(
        "synthetic-machine.csv",
        _edit_csv("median_ns", _first_cell_fast),
        r"\.csv:2: median_ns: could not",
        GATE_BASELINE,
    ),
    "baseline.csv missing column": Case(
        "synthetic-machine.csv", _edit_csv("rounds", _drop_cells), "expected columns", GATE_BASELINE
    ),
    "baseline.json truncated": Case("synthetic-machine.json", truncated, "not valid JSON", GATE_BASELINE),
}


def _prepare(folder: Path, case: Case) -> Path:
    """The case's folder of valid files; returns the path of the one to spoil."""
    make_run_folder(folder)
    make_gate_toml(folder / "gate.toml")
    csv_path = make_baseline(folder)
    if case.target.endswith(".csv"):
        csv_path.with_suffix(".json").unlink()
    return folder / case.target


def run_command(case: Case, folder: Path, target: Path) -> subprocess.CompletedProcess[str]:
    arguments = [part.format(folder=folder, file=target) for part in case.command]
    env = {key: value for key, value in os.environ.items() if not key.startswith("SKYBENCH_")}
    return subprocess.run(
        [sys.executable, "-m", case.module, *arguments],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**env, **case.env}, check=False,
    )  # fmt: skip


def assert_one_clear_line(completed: subprocess.CompletedProcess[str], path: Path, problem: str) -> None:
    assert completed.returncode == EXIT_USAGE, completed
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert str(path) in lines[0], lines[0]
    assert re.search(problem, lines[0]), lines[0]
    assert "internal error" not in lines[0]


@pytest.mark.parametrize("name", list(CASES))
def test_a_spoilt_file_is_exit_2_with_one_line_naming_it(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    target = _prepare(tmp_path / "case", case)
    target.write_bytes(case.spoil(target.read_bytes()))
    assert_one_clear_line(run_command(case, tmp_path / "case", target), target, case.problem)


def test_a_spoilt_gate_folder_is_exit_2_naming_it(tmp_path: Path) -> None:
    gate_dir = tmp_path / "gate"
    gate_dir.mkdir()
    run_json = save_run(synthetic_gate_run(), gate_dir)
    run_json.write_bytes(_set(("kind",), "verdict")(run_json.read_bytes()))
    case = Case("run.json", truncated, "")
    completed = run_command(case, gate_dir, run_json)
    assert_one_clear_line(completed, run_json, r"kind: Input should be 'bench' or 'gate'")


def test_a_bad_server_address_in_the_environment_is_exit_2(tmp_path: Path) -> None:
    case = Case("", truncated, "", command=["bench", "--only", "format_float", "--out", str(tmp_path)])
    completed = run_command(
        replace_env(case, SKYBENCH_PUSHGATEWAY="gateway at port 9091"), tmp_path, tmp_path
    )
    assert completed.returncode == EXIT_USAGE and "Traceback" not in completed.stderr
    assert "environment variable SKYBENCH_PUSHGATEWAY: expected HOST:PORT" in completed.stderr
    assert not (tmp_path / "runs").exists()  # refused before measuring


def replace_env(case: Case, **env: str) -> Case:
    return Case(case.target, case.spoil, case.problem, case.command, case.module, env)


@pytest.mark.slow
def test_baseline_over_a_spoilt_previous_baseline_says_so_and_records_a_sound_one(tmp_path: Path) -> None:
    """The previous baseline is only read to describe the changes: a bad one is named, then replaced
    (recording is its repair), never a traceback and never a torn result."""
    fingerprint = collect_environment(REPO)["machine_fingerprint"]
    csv_path = make_baseline(tmp_path / "baselines", fingerprint)
    csv_path.with_suffix(".json").unlink()  # a CSV bad on its own, with no sidecar to tell it is torn
    csv_path.write_bytes(truncated(csv_path.read_bytes(), 0.5))
    command = [
        "baseline", "--quick", "--only", "get_parallel_threads", "--no-memory", "--no-criterion",
        "--no-floors", "--no-progress", "--no-push", "--out", str(tmp_path / "reports"),
        "--scratch", str(tmp_path / "scratch"), "--baselines-dir", str(tmp_path / "baselines"),
    ]  # fmt: skip
    case = Case("", truncated, "", command=command)
    completed = run_command(case, tmp_path, csv_path)
    assert completed.returncode == 0 and "Traceback" not in completed.stderr
    assert f"previous baseline not compared ({csv_path}:" in completed.stdout
    assert load_baseline(csv_path).rows  # the fresh one loads, its sidecar's digest included


def test_an_unexpected_error_is_one_line_exit_2_asking_for_a_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(_args: argparse.Namespace) -> int:
        raise RuntimeError("the harness has a bug\nover two lines")

    assert run_handler("bench", broken, argparse.Namespace()) == EXIT_USAGE
    stderr = capsys.readouterr().err
    assert stderr == (
        "skybench bench: internal error: RuntimeError: the harness has a bug over two lines (please report)\n"
    )


def test_a_refusing_file_system_is_one_line_exit_2_not_an_internal_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def write(_args: argparse.Namespace) -> int:
        (tmp_path / "missing" / "run.json").write_text("{}")
        return 0

    assert run_handler("publish", write, argparse.Namespace()) == EXIT_USAGE
    stderr = capsys.readouterr().err
    assert stderr.startswith("skybench publish: error: [Errno 2] No such file or directory:")
    assert str(tmp_path / "missing" / "run.json") in stderr and stderr.count("\n") == 1
