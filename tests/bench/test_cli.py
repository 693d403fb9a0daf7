"""The command line: help everywhere, usage errors exit 2, Ctrl-C keeps what was measured and exits 130."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.cli import FEATURES, build_parser, main, requested_command
from harness.commands.errors import EXIT_USAGE
from harness.measure.bench import DROPPED_AT_CTRL_C

from .conftest import REPO_ROOT


def _skybench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )


@pytest.mark.parametrize("command", [[], ["bench"]])
def test_help(command: list[str]) -> None:
    completed = _skybench(*command, "--help")
    assert completed.returncode == 0
    assert "usage:" in completed.stdout


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    subparsers = next(
        a for a in parser._actions if a.dest == "==SUPPRESS==" or a.__class__.__name__ == "_SubParsersAction"
    )
    for name, subparser in subparsers.choices.items():  # type: ignore[union-attr]
        assert subparser.format_help().startswith("usage:"), name


_HEAVY_LIBRARIES = ("matplotlib", "scipy", "memray")
_IMPORTED_AFTER_HELP = """
import sys
from harness.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(name for name in {heavy!r} if name in sys.modules))
"""


@pytest.mark.parametrize("command", [[], ["bench"], ["baseline"], ["publish"], ["history"]])
def test_help_imports_no_heavy_library(command: list[str]) -> None:
    # The command line must start fast: matplotlib, scipy and memray load only when a command needs them.
    completed = subprocess.run(
        [sys.executable, "-c", _IMPORTED_AFTER_HELP.format(heavy=_HEAVY_LIBRARIES), *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "usage:" in completed.stdout
    assert completed.stdout.splitlines()[-1] == "", f"imported by {command} --help: {completed.stdout}"


def test_listed_summaries_are_the_ones_each_module_registers() -> None:
    # `skybench --help` lists stubs built from FEATURES; they must say what the real commands say.
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    registered = {action.dest: action.help for action in subparsers._choices_actions}
    listed = {command: summary for feature in FEATURES for command, summary in feature.commands.items()}
    assert registered == listed


def test_only_the_requested_command_is_loaded_and_stubs_cannot_run() -> None:
    parser = build_parser(load={"publish"})
    assert getattr(parser.parse_args(["bench"]), "handler", None) is None  # a stub: main would exit 2
    assert callable(parser.parse_args(["publish", "somewhere"]).handler)


def test_requested_command_is_the_first_positional() -> None:
    assert requested_command(["--help"]) is None
    assert requested_command(["bench", "--only", "hash_file"]) == "bench"
    assert requested_command(["-h", "gate"]) == "gate"


def test_no_command_is_a_usage_error() -> None:
    assert main([]) == EXIT_USAGE


def test_bad_only_exits_2_naming_the_choices() -> None:
    completed = _skybench("bench", "--only", "base37_encode")
    assert completed.returncode == 2
    assert "invalid choice: 'base37_encode'" in completed.stderr
    assert "base36_encode" in completed.stderr


@pytest.mark.parametrize(
    "flags",
    [
        ["--quick", "--full"],
        ["--min-time", "0"],
        ["--processes", "0"],
        ["--min-rounds", "9", "--max-rounds", "3"],
    ],
)
def test_bad_flags_exit_2(flags: list[str]) -> None:
    assert _skybench("bench", *flags).returncode == 2


def _is_worker(process: psutil.Process) -> bool:
    """A timing worker: its command line names harness.worker, and its parent is not one.

    A worker's own short-lived children (the ``git`` it asks for the commit) carry the worker's command
    line between fork and exec; counted as workers, they made this test see three workers once in 50 runs.
    """
    try:
        if "harness.worker" not in " ".join(process.cmdline()):
            return False
        parent = process.parent()
        return parent is None or "harness.worker" not in " ".join(parent.cmdline())
    except psutil.Error:  # short-lived children (the import-time probes) may be gone already
        return False


@pytest.mark.slow
def test_ctrl_c_keeps_what_was_measured(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    command = [
        sys.executable, "-m", "harness", "bench", "--quick", "--only", "base36_encode",
        "--rust-module", "harness.functions.reference", "--no-memory", "--no-progress",
        "--out", str(out), "--scratch", str(tmp_path / "scratch"),
        # far more rounds than the test waits for: the run is certainly mid-measurement at Ctrl-C
        "--processes", "2", "--min-rounds", "100000", "--pair-budget", "1000", "--min-time", "0.001",
    ]  # fmt: skip
    # Its own session, so Ctrl-C can go to the whole process group as a terminal sends it.
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        parent = psutil.Process(process.pid)
        deadline = time.monotonic() + 60
        workers: list[psutil.Process] = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = [p for p in parent.children(recursive=True) if _is_worker(p)]
        assert len(workers) == 2, "the bench never started its workers"
        time.sleep(1.0)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    run = json.loads((out / "latest" / "run.json").read_text())
    assert run["interrupted"] is True
    # The pair cut by Ctrl-C (if the press came during one) is named, in run.json and on stderr.
    dropped = [n for n in run["not_comparable"] if n["difference"] == DROPPED_AT_CTRL_C]
    assert len(dropped) <= 1
    for entry in dropped:
        assert f"dropped at Ctrl-C (measured in part, not kept): {entry['function']}[" in stderr
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "worker processes were left behind"


def test_unwritable_out_is_a_tool_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    completed = _skybench(
        "bench", "--quick", "--only", "get_parallel_threads", "--rust-module", "harness.functions.reference",
        "--no-memory", "--no-criterion", "--no-floors", "--no-progress", "--min-rounds", "2",
        "--max-rounds", "2",
        "--min-time", "0.001", "--out", str(blocker / "reports"), "--scratch", str(tmp_path / "scratch"),
        timeout=120,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "skybench bench: error:" in completed.stderr
    assert "Traceback" not in completed.stderr
