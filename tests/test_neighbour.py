"""The noisy neighbour: each kind starts, really runs, and is stopped with its whole process tree, however the
block ends (normally, by an exception, by Ctrl-C to the parent); its record reaches the experiment's and the
calibration's files, and older calibration files still load."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.commands import gate as gate_commands
from harness.gate.build import candidate_build
from harness.gate.calibrate import Calibration, load_calibration, save_calibration
from harness.gate.experiment import runs as experiment_runs
from harness.measure import neighbour
from harness.measure.neighbour import (
    NeighbourError,
    NeighbourKind,
    NeighbourRecord,
    last_level_cache_bytes,
    running_neighbour,
    stream_l3_size_arg,
)

REPO = Path(__file__).resolve().parents[1]
STRESS_NG = shutil.which("stress-ng")


def _need_stress_ng() -> None:
    if STRESS_NG is None:
        if os.environ.get("CI") == "true":
            pytest.fail("stress-ng is missing: make test installs it (scripts/install-test-deps.sh)")
        pytest.skip("stress-ng not installed (bash scripts/install-test-deps.sh)")


@pytest.fixture(scope="module")
def bench_scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the bench neighbours of this module: its workload data is made once."""
    return tmp_path_factory.mktemp("neighbour")


def _descendants() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def _gone(processes: list[psutil.Process]) -> bool:
    """No process of the list runs any more (a zombie waiting for its reaper has stopped running)."""
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def _check_running(run: neighbour.NeighbourRun, kind: NeighbourKind) -> list[psutil.Process]:
    """The neighbour's tree while it runs: its own process group, and the processes that do its work."""
    assert run.pid is not None
    assert os.getpgid(run.pid) == run.pid, "the neighbour leads a process group of its own"
    tree = [psutil.Process(run.pid), *psutil.Process(run.pid).children(recursive=True)]
    names = " ".join(_names(p) for p in tree)
    # The bench process itself: its timing workers come and go (the readiness wait saw one).
    expected = {"cpu": "stress-ng-cpu", "memory": "stress-ng-str", "bench": "harness bench --quick"}[kind]
    assert expected in names, names
    return tree


def _names(process: psutil.Process) -> str:
    """Its name and command line; empty for a short-lived process already gone (a worker's git child)."""
    try:
        return f"{process.name()} {' '.join(process.cmdline())}"
    except psutil.Error:
        return ""


@pytest.mark.parametrize(
    "kind",
    [
        NeighbourKind.CPU,
        NeighbourKind.MEMORY,
        pytest.param(NeighbourKind.BENCH, marks=pytest.mark.slow),
    ],
)
def test_each_kind_runs_and_is_stopped_with_its_whole_tree(kind: NeighbourKind, bench_scratch: Path) -> None:
    if kind is not NeighbourKind.BENCH:
        _need_stress_ng()
    with running_neighbour(kind, bench_scratch / str(kind)) as run:
        tree = _check_running(run, kind)
        snapshot = run.snapshot()
    assert _gone(tree), [p for p in tree if p.is_running()]
    record = run.record
    assert (record.kind, record.pid, record.command) == (str(kind), run.pid, run.command)
    assert record.stopped_by in {"SIGTERM", "SIGKILL"}
    assert record.stopped_at_unix_s is not None and record.stopped_at_unix_s >= record.started_at_unix_s
    assert snapshot.stopped_at_unix_s is None
    assert record.load_samples >= 2  # the read when it ran and the read at the stop
    assert record.load_1min_max >= record.load_1min_mean >= 0
    assert record.cpu_seconds > 0  # it was running: it did work before it was stopped


def test_no_neighbour_runs_nothing_and_still_reads_the_load(tmp_path: Path) -> None:
    before = {p.pid for p in _descendants()}
    with running_neighbour("none", tmp_path) as run:
        assert {p.pid for p in _descendants()} == before
    record = run.record
    assert (record.kind, record.pid, record.command, record.cpu_seconds) == ("none", None, (), 0.0)
    assert record.load_samples >= 2


def test_a_crash_inside_the_block_still_stops_it(tmp_path: Path) -> None:
    _need_stress_ng()
    with pytest.raises(RuntimeError, match="the measuring failed"), running_neighbour("cpu", tmp_path) as run:
        tree = _check_running(run, NeighbourKind.CPU)
        raise RuntimeError("the measuring failed")
    assert _gone(tree)
    assert run.record.stopped_by == "SIGTERM"


def test_a_neighbour_that_ignores_sigterm_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A shell that ignores SIGTERM and a busy child that inherits the ignoring: only SIGKILL ends them.
    stubborn = ["sh", "-c", "trap '' TERM; (while :; do :; done) & wait"]
    monkeypatch.setattr(neighbour, "neighbour_command", lambda kind, scratch: stubborn)
    monkeypatch.setattr(neighbour, "STOP_GRACE_S", 0.5)
    with running_neighbour("cpu", tmp_path) as run:
        assert run.pid is not None
        tree = [psutil.Process(run.pid), *psutil.Process(run.pid).children(recursive=True)]
    assert _gone(tree)
    assert run.record.stopped_by == "SIGKILL"


def test_a_neighbour_that_exits_at_once_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ["sh", "-c", "echo 'stress-ng: error: no such stressor' >&2; exit 3"]
    monkeypatch.setattr(neighbour, "neighbour_command", lambda kind, scratch: broken)
    expected = r"neighbour cpu exited with 3: stress-ng: error: no such stressor"
    with pytest.raises(NeighbourError, match=expected), running_neighbour("cpu", tmp_path):
        pytest.fail("the block must not run without its neighbour")


def test_a_missing_stress_ng_is_named_with_its_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    expected = r"needs stress-ng: run `make test-deps`"
    with pytest.raises(NeighbourError, match=expected), running_neighbour("memory", tmp_path):
        pytest.fail("the block must not run without its neighbour")


# A parent started by a non-interactive shell in the background (`nohup bash .ci/run &`) inherits SIGINT
# ignored, and Python then keeps it ignored; the parent takes Ctrl-C as a terminal's foreground job would.
_PARENT = """
import signal, sys, time
from pathlib import Path
from harness.measure.neighbour import running_neighbour
signal.signal(signal.SIGINT, signal.default_int_handler)
with running_neighbour(sys.argv[1], Path(sys.argv[2])) as run:
    print(run.pid, flush=True)
    time.sleep(600)
"""


def _parent_with_a_neighbour(tmp_path: Path) -> tuple[subprocess.Popen[str], list[psutil.Process]]:
    """A process that runs a cpu neighbour and sleeps, in a session of its own; and the neighbour's tree."""
    # Its own session, so Ctrl-C can go to its process group as a terminal sends it.
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, "cpu", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()  # printed once the neighbour runs
    if not line.strip().isdigit():
        parent.kill()
        pytest.fail(f"no neighbour: {parent.communicate()[1]}")
    tree = [psutil.Process(int(line)), *psutil.Process(int(line)).children(recursive=True)]
    assert len(tree) >= 2, "stress-ng and its worker"
    return parent, tree


def test_ctrl_c_to_the_parent_leaves_no_neighbour_behind(tmp_path: Path) -> None:
    _need_stress_ng()
    parent, tree = _parent_with_a_neighbour(tmp_path)
    try:
        # The neighbour, in a group of its own, gets nothing from the terminal: the parent must stop it.
        os.killpg(parent.pid, signal.SIGINT)
        _, stderr = parent.communicate(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert "KeyboardInterrupt" in stderr  # it was the Ctrl-C that ended the parent
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, "the neighbour outlived its parent"


def test_a_parent_killed_outright_takes_its_neighbour_along(tmp_path: Path) -> None:
    _need_stress_ng()
    parent, tree = _parent_with_a_neighbour(tmp_path)
    parent.kill()  # SIGKILL: no cleanup runs in the parent, the parent-death signal does the stopping
    parent.communicate(timeout=60)
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, "the neighbour outlived its parent"


def test_the_stream_arrays_are_twice_the_last_level_cache_within_bounds(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for index, (level, size) in enumerate([(1, "48K"), (2, "2048K"), (3, "480M")]):
        (cache / f"index{index}").mkdir(parents=True)
        (cache / f"index{index}" / "level").write_text(f"{level}\n")
        (cache / f"index{index}" / "size").write_text(f"{size}\n")
    assert last_level_cache_bytes(cache) == 480 * 2**20
    # stress-ng makes three arrays of 4x --stream-l3-size each: 12x in all.
    assert stream_l3_size_arg(480 * 2**20) == f"{960 * 2**10 // 12}K"
    assert stream_l3_size_arg(2**20) == f"{192 * 2**10 // 12}K"  # at least 192 MiB in all
    assert stream_l3_size_arg(2**32) == f"{1536 * 2**10 // 12}K"  # at most 1.5 GiB
    assert last_level_cache_bytes(tmp_path / "no-such-folder") == 32 * 2**20


def _record(kind: str = "cpu") -> NeighbourRecord:
    return NeighbourRecord(
        kind=kind, command=("stress-ng", "--cpu", "1"), pid=4242, started_at_unix_s=1.0,
        stopped_at_unix_s=61.0, load_1min_at_start=0.5, load_1min_mean=1.6, load_1min_max=2.1,
        load_samples=13, load_sample_interval_s=5.0, cpu_seconds=59.5, stopped_by="SIGTERM",
    )  # fmt: skip


def test_a_record_with_impossible_figures_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown neighbour kind"):
        _record(kind="gpu")
    with pytest.raises(ValueError, match="finite, non-negative"):
        NeighbourRecord(**{**_record().to_json_dict(), "load_1min_mean": float("nan")})


def test_calibration_keeps_the_record_and_older_files_still_load(tmp_path: Path) -> None:
    calibration = Calibration(fingerprint="fp", created_at_unix_s=1.0, runs=2, rounds=3, neighbour=_record())
    path = tmp_path / "calibration.json"
    save_calibration(calibration, path)
    assert load_calibration(path, fingerprint="fp").neighbour == _record()
    expected = (
        "neighbour `cpu`: load average (1 min) 0.50 at the start, mean 1.60, max 2.10 (13 reads); "
        "the neighbour used 60 s of CPU in 60 s (0.99 of a core)"
    )
    assert expected in path.with_suffix(".md").read_text(encoding="utf-8")
    older = json.loads(path.read_text(encoding="utf-8"))
    del older["neighbour"]  # a file written before the neighbour existed
    path.write_text(json.dumps(older), encoding="utf-8")
    assert load_calibration(path, fingerprint="fp").neighbour is None


@pytest.mark.parametrize("command", ["experiment", "calibrate"])
def test_an_unknown_neighbour_is_exit_2_with_one_line(command: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "harness", command, "--neighbour", "bogus"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1, completed.stderr
    assert "--neighbour: invalid choice: 'bogus'" in completed.stderr
    assert "Traceback" not in completed.stderr


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    gate_commands.register(parser.add_subparsers())
    return parser.parse_args(argv)


@pytest.fixture
def cheap_measuring(tmp_path: Path) -> Iterator[list[str]]:
    """The fewest rounds of one ~1 us function, data in a scratch folder of the test's own."""
    yield ["--quick", "--only", "format_float", "--rounds", "2", "--scratch", str(tmp_path / "data")]


@pytest.mark.slow
def test_calibrate_writes_the_neighbour_into_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_measuring: list[str]
) -> None:
    _need_stress_ng()
    monkeypatch.chdir(REPO)
    out = tmp_path / "calibration.json"
    arguments = _parse(
        ["calibrate", "--runs", "2", *cheap_measuring, "--neighbour", "cpu", "--out", str(out)]
    )
    assert arguments.handler(arguments) == 0
    saved = json.loads(out.read_text(encoding="utf-8"))["neighbour"]
    assert saved["kind"] == "cpu" and saved["command"][0] == "stress-ng" and saved["cpu_seconds"] > 0
    assert saved["stopped_by"] == "SIGTERM"
    assert not any("stress-ng" in _names(p) for p in _descendants())


@pytest.mark.slow
def test_experiment_writes_the_neighbour_into_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cheap_measuring: list[str]
) -> None:
    _need_stress_ng()
    monkeypatch.chdir(REPO)
    # The clean build is this tree's own venv: the A/A runs need no worktree build.
    monkeypatch.setattr(experiment_runs, "build_commit", lambda repo, commit, **_: candidate_build(repo))
    out = tmp_path / "experiment"
    arguments = _parse([
        "experiment", "--aa-runs", "2", "--runs", "0", "--target", "format_float/mixed-p0",
        "--no-calibration", *cheap_measuring, "--neighbour", "cpu", "--out", str(out),
    ])  # fmt: skip
    assert arguments.handler(arguments) == 0
    lines = [json.loads(line) for line in (out / "runs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["kind"] for line in lines] == ["A/A", "A/A", "neighbour", "settings"]
    *runs_and_neighbour, settings = lines
    assert all(line["neighbour"]["kind"] == "cpu" for line in runs_and_neighbour)
    assert lines[0]["neighbour"]["stopped_at_unix_s"] is None  # a snapshot, taken while it ran
    assert lines[0]["load_1min_during_run"]["reads"] >= 1
    assert runs_and_neighbour[-1]["neighbour"]["stopped_by"] == "SIGTERM"
    assert "calibration none" in settings["settings"]
    with (out / "results.csv").open(newline="", encoding="utf-8") as handle:
        (row,) = csv.DictReader(handle)
    assert row["neighbour"] == "cpu" and float(row["neighbour_load_1min_max"]) >= 0
    assert "With neighbour `cpu`: load average (1 min)" in (out / "results.md").read_text(encoding="utf-8")
    assert json.loads((out / "calibration.json").read_text(encoding="utf-8"))["neighbour"]["kind"] == "cpu"
    assert not any("stress-ng" in _names(p) for p in _descendants())


def test_the_load_sampler_reads_on_its_interval(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(neighbour, "LOAD_SAMPLE_INTERVAL_S", 0.01)
    with running_neighbour("none", tmp_path) as run:
        deadline = time.monotonic() + 30
        while run.snapshot().load_samples < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert run.record.load_samples >= 4  # the first read, two on the thread, the read at the stop
    assert run.record.load_sample_interval_s == 0.01
    assert run.load_during_last(0.0)["reads"] == 1  # only the read made now
