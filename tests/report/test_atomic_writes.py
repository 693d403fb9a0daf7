"""Files a later step reads survive a writer killed at any moment: the old one intact or the new complete.

A forked writer rewrites a baseline (CSV + sidecar), a calibration (JSON + table) and a run.json in a loop,
each version marked throughout; it is SIGKILLed after many different delays, and after each kill every file
must parse whole as one version, and the baseline pair must either agree or be reported corrupt. A second
test crashes the writer at chosen bytes of each write (a file-size limit) and compares the bytes left.
"""

from __future__ import annotations

import csv
import itertools
import multiprocessing
import os
import resource
import shutil
import signal
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.atomic import open_atomic_text, replace_symlink_atomic, write_json_atomic, write_text_atomic
from harness.gate.calibrate import (
    Calibration,
    ComparisonNoise,
    calibration_table,
    load_calibration,
    save_calibration,
)
from harness.results import Impl, RunResult
from harness.run_json import load_run, save_run
from harness.sinks.baseline import BaselineCorruptError, baseline_paths, load_baseline, write_baseline

from .synthetic import ENVIRONMENT, pair, synthetic_run

FINGERPRINT = ENVIRONMENT["machine_fingerprint"]
PAIRS_PER_RUN = 400  # enough rows that a write takes a while, so kills land inside it
KILL_DELAYS_S = [0.002 * 1.12**step for step in range(40)]  # 2 ms to about 170 ms


def _run_of(version: int) -> RunResult:
    """A run whose every Python median is 1000 + version ns, so each CSV row names the version it is of."""
    pairs = tuple(
        pair("base36_encode", f"w{index:04d}", 1000.0 + version, 100.0) for index in range(PAIRS_PER_RUN)
    )
    return replace(synthetic_run(), run_id=f"v{version}", pairs=pairs)


def _calibration_of(version: int) -> Calibration:
    noise = ComparisonNoise("base36_encode/rust/w/time", 0.01, 0.02, 0.05, tuple([1.0] * 50))
    keys = [f"base36_encode/rust/w{index}/time" for index in range(50)]
    comparisons = {key: replace(noise, key=key) for key in keys}
    # runs: the version, offset past the loader's minimum of 2 A/A runs
    return Calibration(FINGERPRINT, 0.0, runs=version + 2, rounds=10, comparisons=comparisons)


def _write(folder: Path, version: int) -> None:
    run = _run_of(version)
    write_baseline(run, folder)
    save_calibration(_calibration_of(version), folder / "calibration.json")
    save_run(run, folder)


def _write_forever(folder: str) -> None:
    for version in itertools.count(1):
        _write(Path(folder), version)


def _csv_version(csv_path: Path) -> int:
    """The one version all Python rows of the CSV are of; fails on a truncated or mixed file."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["impl"] == str(Impl.PYTHON)]
    versions = {round(float(row["median_ns"]) - 1000) for row in rows if row["function"] != "_noop"}
    assert len(rows) == PAIRS_PER_RUN + 1, f"CSV has {len(rows)} Python rows: truncated"
    assert len(versions) == 1, f"CSV mixes versions {sorted(versions)}"
    return versions.pop()


def _check_files(folder: Path) -> tuple[int, bool]:
    """Every file whole; returns (the CSV's version, whether the baseline pair is torn)."""
    csv_path, _ = baseline_paths(FINGERPRINT, folder)
    version = _csv_version(csv_path)
    try:
        baseline = load_baseline(csv_path)
    except BaselineCorruptError:
        torn = True
    else:
        torn = False
        assert baseline.run_id == f"v{version}", "sidecar and CSV of different versions loaded silently"
    calibration = load_calibration(folder / "calibration.json", fingerprint=FINGERPRINT)
    table = (folder / "calibration.md").read_text(encoding="utf-8")
    version = calibration.runs - 2
    assert table in {calibration_table(_calibration_of(v)) for v in (version - 1, version)}
    run = load_run(folder)
    assert run is not None and run.run_id.startswith("v") and len(run.pairs) == PAIRS_PER_RUN
    return version, torn


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_at_any_point_leaves_each_file_old_or_new_and_a_torn_pair_is_detected(tmp_path: Path) -> None:
    _write(tmp_path, 0)
    fork = multiprocessing.get_context("fork")
    versions_seen: set[int] = set()
    for delay_s in KILL_DELAYS_S:
        writer = fork.Process(target=_write_forever, args=(str(tmp_path),))
        writer.start()
        time.sleep(delay_s)
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        assert writer.exitcode == -signal.SIGKILL
        version, _torn = _check_files(tmp_path)
        versions_seen.add(version)
    assert len(versions_seen) > 1, "the writer never finished a version: the kills proved nothing"


def _write_kind(kind: str, folder: Path, version: int) -> list[Path]:
    """Write one kind of file(s) at ``version``; return the paths written, in order."""
    if kind == "baseline":
        write_baseline(_run_of(version), folder)
        return list(baseline_paths(FINGERPRINT, folder))
    if kind == "calibration":
        save_calibration(_calibration_of(version), folder / "calibration.json")
        return [folder / "calibration.json", folder / "calibration.md"]
    folder.mkdir(parents=True, exist_ok=True)
    return [save_run(_run_of(version), folder)]


def _write_until_size_limit(kind: str, folder: str, limit_bytes: int) -> None:
    # A write that would grow any file past the limit kills the process on the spot (SIGXFSZ, default
    # action): a crash at exactly that byte of the write, with no clean-up code run.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, resource.RLIM_INFINITY))
    _write_kind(kind, Path(folder), 1)


@pytest.mark.parametrize("kind", ["baseline", "calibration", "run.json"])
def test_a_crash_at_any_byte_of_a_write_leaves_the_old_file_or_the_new(kind: str, tmp_path: Path) -> None:
    old_dir, new_dir, work_dir = tmp_path / "old", tmp_path / "new", tmp_path / "work"
    old_paths = _write_kind(kind, old_dir, 0)
    new_paths = _write_kind(kind, new_dir, 1)
    largest_bytes = max(path.stat().st_size for path in new_paths)
    fork = multiprocessing.get_context("fork")
    outcomes: set[tuple[str, ...]] = set()
    # From nothing written to everything: 0 bytes, a dozen points inside the files, the whole of them.
    for limit_bytes in [*range(0, largest_bytes, max(1, largest_bytes // 12)), largest_bytes]:
        shutil.rmtree(work_dir, ignore_errors=True)
        shutil.copytree(old_dir, work_dir)
        writer = fork.Process(target=_write_until_size_limit, args=(kind, str(work_dir), limit_bytes))
        writer.start()
        writer.join()
        assert writer.exitcode in (0, -signal.SIGXFSZ)
        outcome = []
        for old, new in zip(old_paths, new_paths, strict=True):
            written = (work_dir / old.name).read_bytes()
            assert written in (old.read_bytes(), new.read_bytes()), f"{old.name} torn at byte {limit_bytes}"
            outcome.append("new" if written == new.read_bytes() else "old")
        outcomes.add(tuple(outcome))
        if kind == "baseline" and outcome == ["new", "old"]:
            with pytest.raises(BaselineCorruptError):
                load_baseline(work_dir / old_paths[0].name)
    assert ("old",) * len(old_paths) in outcomes and ("new",) * len(old_paths) in outcomes


def test_a_torn_pair_is_reported_as_corrupt(tmp_path: Path) -> None:
    # What a kill between the CSV's rename and the sidecar's leaves: the new CSV beside the old sidecar.
    write_baseline(_run_of(1), tmp_path)
    csv_path, sidecar_path = baseline_paths(FINGERPRINT, tmp_path)
    old_sidecar = sidecar_path.read_bytes()
    write_baseline(_run_of(2), tmp_path)
    sidecar_path.write_bytes(old_sidecar)
    with pytest.raises(BaselineCorruptError, match=r"^\S+\.csv: baseline is corrupt"):
        load_baseline(csv_path)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    write_text_atomic(target, "old\n")
    target.chmod(0o640)
    with pytest.raises(RuntimeError), open_atomic_text(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["results.csv"]
    write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640, "a rewrite must keep the file's permissions"


def test_symlink_swap_replaces_the_link_in_place(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    latest = tmp_path / "latest"
    replace_symlink_atomic(latest, Path("a"))
    replace_symlink_atomic(latest, Path("b"))
    assert os.readlink(latest) == "b"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a", "b", "latest"]


def test_json_is_written_sorted_indented_and_newline_terminated(tmp_path: Path) -> None:
    # run.json, telemetry.json, gate-comparisons.json, history.json, the baseline sidecar and
    # environment.json are all written by write_json_atomic: a rerun compares byte for byte.
    target = write_json_atomic(tmp_path / "run.json", {"b": [1, 2.5], "a": {"z": None, "y": "é"}})
    assert target.read_text(encoding="utf-8") == (
        '{\n  "a": {\n    "y": "\\u00e9",\n    "z": null\n  },\n  "b": [\n    1,\n    2.5\n  ]\n}\n'
    )
    run = synthetic_run()
    expected = write_json_atomic(tmp_path / "expected.json", run.to_json_dict()).read_bytes()
    assert save_run(run, tmp_path).read_bytes() == expected
