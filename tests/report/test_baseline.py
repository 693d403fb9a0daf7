"""Baselines: written as stable CSV + sidecar, reloaded exactly, and compared with the previous one."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from harness.commands import baseline as baseline_cli
from harness.commands import bench as bench_cli
from harness.commands import gate as gate_cli
from harness.functions.pairs.workload_types import Mode
from harness.functions.registry import DEFAULT_MODULES
from harness.gate.against_baseline import baseline_comparisons
from harness.gate.gate import GateOptions
from harness.gate.outcome import ExitCode
from harness.measure.bench import BenchOptions
from harness.measure.engine import Purpose, plan_for
from harness.results import GateOutcome, Impl, PairResult, RunResult, TimingSample
from harness.sinks.baseline import (
    BASELINE_COLUMNS,
    FORMAT_2_COLUMNS,
    OVERHEAD_COLUMNS,
    SIDECAR_FORMAT_VERSION,
    BaselineCorruptError,
    BaselineFormatError,
    baseline_paths,
    describe_changes,
    load_baseline,
    record_baseline,
    rows_from_run,
    write_baseline,
)
from harness.stats import with_fallback

from .synthetic import (
    ENVIRONMENT,
    FALLBACK_EXTRA_BYTES,
    run_with_fallback,
    synthetic_run,
    timing,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_write_then_load_gives_back_every_row(tmp_path: Path) -> None:
    run = synthetic_run()
    csv_path = write_baseline(run, tmp_path)
    assert csv_path == tmp_path / f"{ENVIRONMENT['machine_fingerprint']}.csv"
    baseline = load_baseline(csv_path)
    assert baseline.fingerprint == ENVIRONMENT["machine_fingerprint"]
    assert baseline.environment["cpu_model"] == ENVIRONMENT["cpu_model"]
    assert baseline.git_commit == ENVIRONMENT["git_commit"]
    assert baseline.run_id == run.run_id
    expected = {row.key: row for row in rows_from_run(run)}
    assert dict(baseline.rows) == expected
    # Two rows (Python, Rust) per pair, plus the call floor's two.
    assert len(baseline.rows) == 2 * len(run.pairs) + 2
    floor_row = baseline.rows[("_noop", "call", Impl.RUST)]
    assert floor_row.speedup is None and floor_row.median_ns == pytest.approx(50.0)
    rust_row = baseline.rows[("base36_encode", "hex32", Impl.RUST)]
    assert rust_row.speedup == pytest.approx(12.0)
    assert rust_row.alloc_bytes_per_call == 600.0
    assert rust_row.peak_rss_bytes is None


def test_csv_is_sorted_with_fixed_columns_and_rewrites_identically(tmp_path: Path) -> None:
    csv_path = write_baseline(synthetic_run(), tmp_path)
    first = csv_path.read_text(encoding="utf-8")
    lines = first.splitlines()
    assert lines[0] == ",".join(BASELINE_COLUMNS)
    keys = [tuple(line.split(",")[:3]) for line in lines[1:]]
    assert keys == sorted(keys)
    write_baseline(synthetic_run(), tmp_path)
    assert csv_path.read_text(encoding="utf-8") == first


def test_record_baseline_shows_changes_against_the_previous_one(tmp_path: Path) -> None:
    first_path, first_changes = record_baseline(synthetic_run(), tmp_path)
    assert "no previous baseline" in first_changes[0]

    run = synthetic_run()
    slower_rust = dataclasses.replace(
        run.pairs[0], rust=timing("base36_encode", Impl.RUST, "hex32", 800.0)
    )  # 400 ns -> 800 ns
    changed = dataclasses.replace(run, pairs=(slower_rust, *run.pairs[2:]))
    second_path, changes = record_baseline(changed, tmp_path)
    assert second_path == first_path

    rust_line = next(line for line in changes if line.startswith("base36_encode/hex32/rust:"))
    assert "median 400 ns -> 800 ns (2x)" in rust_line
    unchanged = next(line for line in changes if line.startswith("base36_encode/hex32/python:"))
    assert "(1x)" in unchanged
    assert "get_parallel_threads/aws/python: gone (in the previous baseline only)" in changes
    # The file now holds the second run.
    assert load_baseline(second_path).rows[("base36_encode", "hex32", Impl.RUST)].median_ns == 800.0


def test_describe_changes_marks_new_rows(tmp_path: Path) -> None:
    run = synthetic_run()
    old = load_baseline(write_baseline(dataclasses.replace(run, pairs=run.pairs[:1]), tmp_path))
    lines = describe_changes(old, rows_from_run(run))
    assert any(line.startswith("format_float/batch/rust: new, median 260 ns") for line in lines)


def test_load_baseline_rejects_wrong_columns_and_values(tmp_path: Path) -> None:
    wrong_header = tmp_path / "wrong.csv"
    wrong_header.write_text("function,workload\nf,w\n", encoding="utf-8")
    with pytest.raises(BaselineFormatError, match="expected columns"):
        load_baseline(wrong_header)
    bad_value = tmp_path / "bad.csv"
    cells = ["f", "w", "rust", "fast", "1", "2", "5", *[""] * (len(BASELINE_COLUMNS) - 7)]
    bad_value.write_text(",".join(BASELINE_COLUMNS) + "\n" + ",".join(cells) + "\n", encoding="utf-8")
    with pytest.raises(BaselineFormatError, match=r"bad.csv:2"):
        load_baseline(bad_value)
    with pytest.raises(FileNotFoundError):
        load_baseline(tmp_path / "missing.csv")


def test_sidecar_names_the_csv_row_count_and_digest(tmp_path: Path) -> None:
    csv_path = write_baseline(synthetic_run(), tmp_path)
    sidecar = json.loads(csv_path.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["format_version"] == SIDECAR_FORMAT_VERSION == 3
    assert sidecar["csv_sha256"] == hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert sidecar["csv_rows"] == len(csv_path.read_text(encoding="utf-8").splitlines()) - 1
    assert load_baseline(csv_path).notes == ()


def test_a_csv_cut_short_is_corrupt_not_a_smaller_baseline(tmp_path: Path) -> None:
    # The reported failure: 1 row of 90 left beside its sidecar, loaded as a baseline with rows missing.
    csv_path = write_baseline(synthetic_run(), tmp_path)
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    csv_path.write_text("".join(lines[:2]), encoding="utf-8")
    with pytest.raises(BaselineCorruptError, match=r"baseline is corrupt: .* \(1 rows"):
        load_baseline(csv_path)


def test_a_format_1_sidecar_still_loads_with_a_note(tmp_path: Path) -> None:
    csv_path = write_baseline(synthetic_run(), tmp_path)
    sidecar_path = csv_path.with_suffix(".json")
    sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    for key in ("format_version", "csv_rows", "csv_sha256"):
        del sidecar[key]
    sidecar_path.write_text(json.dumps(sidecar), encoding="utf-8")
    loaded = load_baseline(csv_path)
    assert loaded.run_id == synthetic_run().run_id
    assert len(loaded.notes) == 1 and "format 1" in loaded.notes[0]
    sidecar_path.unlink()
    assert "no sidecar" in load_baseline(csv_path).notes[0]


@pytest.mark.parametrize("sidecar_text", ["{truncated", '{"format_version": 99}', "[1, 2]"])
def test_an_unusable_sidecar_is_a_format_error(tmp_path: Path, sidecar_text: str) -> None:
    csv_path = write_baseline(synthetic_run(), tmp_path)
    csv_path.with_suffix(".json").write_text(sidecar_text, encoding="utf-8")
    with pytest.raises(BaselineFormatError):
        load_baseline(csv_path)


def test_recording_over_a_corrupt_baseline_records_a_fresh_one(tmp_path: Path) -> None:
    csv_path = write_baseline(synthetic_run(), tmp_path)
    csv_path.write_text(",".join(BASELINE_COLUMNS) + "\n", encoding="utf-8")
    _, changes = record_baseline(synthetic_run(), tmp_path)
    assert changes[0].startswith(f"previous baseline not compared ({csv_path}: baseline is corrupt")
    assert len(load_baseline(csv_path).rows) == 2 * len(synthetic_run().pairs) + 2


def test_fingerprint_must_be_a_plain_file_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        baseline_paths("../escape", tmp_path)
    with pytest.raises(ValueError, match="fingerprint"):
        baseline_paths("", tmp_path)


def test_baseline_command_runs_the_bench_publishes_and_records(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    received: list[BenchOptions] = []

    def fake_run_bench(options: BenchOptions) -> RunResult:
        received.append(options)
        return synthetic_run()

    monkeypatch.setattr(bench_cli, "run_bench", fake_run_bench)
    parser = argparse.ArgumentParser()
    baseline_cli.register(parser.add_subparsers())
    arguments = parser.parse_args(
        [
            "baseline",
            "--quick",
            "--only",
            "base36_encode",
            "--out",
            str(tmp_path / "reports"),
            "--baselines-dir",
            str(tmp_path / "baselines"),
            "--no-progress",
        ]
    )
    assert arguments.handler(arguments) == 0
    assert received[0].mode is Mode.QUICK and received[0].only == ("base36_encode",)
    # A baseline is of the mode's own plan and the default modules, never the bench's tuning flags.
    assert (
        received[0].plan == plan_for(Purpose.BENCH, Mode.QUICK)
        and dict(received[0].modules) == DEFAULT_MODULES
    )
    assert (tmp_path / "reports" / "latest" / "run.json").exists()
    assert (tmp_path / "baselines" / f"{ENVIRONMENT['machine_fingerprint']}.csv").exists()
    assert "no previous baseline" in capsys.readouterr().out


def test_an_interrupted_bench_is_not_recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bench_cli, "run_bench", lambda _options: synthetic_run(interrupted=True))
    parser = argparse.ArgumentParser()
    baseline_cli.register(parser.add_subparsers())
    arguments = parser.parse_args(
        ["baseline", "--out", str(tmp_path / "reports"), "--baselines-dir", str(tmp_path / "baselines")]
    )
    assert arguments.handler(arguments) == 130
    assert not (tmp_path / "baselines").exists()


def test_the_gate_exits_2_on_a_torn_baseline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = write_baseline(synthetic_run(), tmp_path)
    old_sidecar = csv_path.with_suffix(".json").read_bytes()
    write_baseline(dataclasses.replace(synthetic_run(), pairs=synthetic_run().pairs[:1]), tmp_path)
    csv_path.with_suffix(".json").write_bytes(old_sidecar)
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    parser = argparse.ArgumentParser()
    gate_cli.register(parser.add_subparsers())
    arguments = parser.parse_args(["gate", "--baseline", str(csv_path), "--out", str(tmp_path / "out")])
    assert arguments.handler(arguments) == ExitCode.USAGE_OR_TOOL_ERROR
    assert "baseline is corrupt" in capsys.readouterr().err


def scaled(sample: TimingSample, factor: float) -> TimingSample:
    """``sample`` with every value ``factor`` times as long."""
    values = tuple(value * factor for value in sample.values_ns)
    return dataclasses.replace(sample, values_ns=values)


def slowed_fallback(run: RunResult, factor: float) -> tuple[PairResult, ...]:
    """The run's pairs with the fallback ``factor`` times as slow, its production speedup and overhead
    recomputed from the slowed rounds as the bench would."""
    return tuple(
        with_fallback(pair, scaled(pair.fallback, factor), 0, 200) if pair.fallback else pair
        for pair in run.pairs
    )


def test_the_fallback_has_a_row_with_what_callers_get(tmp_path: Path) -> None:
    run = run_with_fallback()
    baseline = load_baseline(write_baseline(run, tmp_path))
    routed = [pair for pair in run.pairs if pair.fallback is not None]
    assert routed and len(baseline.rows) == 2 * len(run.pairs) + len(routed) + 2
    for pair in routed:
        row = baseline.rows[(pair.function, pair.workload, Impl.FALLBACK)]
        assert pair.fallback is not None and pair.production_speedup is not None
        assert pair.dispatch_overhead is not None
        assert row.median_ns == pytest.approx(pair.fallback.median_ns)
        assert row.speedup == pytest.approx(pair.production_speedup.value)  # Python / fallback
        assert (
            row.dispatch_overhead_ns,
            row.dispatch_overhead_ci_low_ns,
            row.dispatch_overhead_ci_high_ns,
        ) == (
            pair.dispatch_overhead.value_ns,
            pair.dispatch_overhead.ci_low_ns,
            pair.dispatch_overhead.ci_high_ns,
        )
        rust_row = baseline.rows[(pair.function, pair.workload, Impl.RUST)]
        assert rust_row.dispatch_overhead_ns is None  # the overhead is the fallback row's alone
        if pair.rust_memory is None:
            assert row.alloc_bytes_per_call is None
        else:  # its own pass's figures, never Rust's copied
            assert row.alloc_bytes_per_call == pair.rust_memory.alloc_bytes_per_call + FALLBACK_EXTRA_BYTES
    untouched = next(pair for pair in run.pairs if pair.fallback is None)
    assert (untouched.function, untouched.workload, Impl.FALLBACK) not in baseline.rows


def test_gate_against_a_baseline_judges_the_fallback_side(tmp_path: Path) -> None:
    run = run_with_fallback()
    baseline = load_baseline(write_baseline(run, tmp_path))
    slowed = tuple(
        dataclasses.replace(pair, fallback=scaled(pair.fallback, 1.5)) if pair.fallback else pair
        for pair in run.pairs
    )
    comparisons = baseline_comparisons(slowed, baseline, GateOptions(mode=Mode.QUICK))
    by_side = {(c.function, c.workload, c.impl): c.outcome for c in comparisons}
    for pair in slowed:
        assert by_side[(pair.function, pair.workload, Impl.RUST)] is GateOutcome.PASS
        if pair.fallback is not None:
            assert by_side[(pair.function, pair.workload, Impl.FALLBACK)] is GateOutcome.REGRESSION
        else:
            assert (pair.function, pair.workload, Impl.FALLBACK) not in by_side


def test_a_format_2_baseline_still_loads() -> None:
    # As `make baseline` wrote it before the overhead columns (sidecar format 2, 13 columns), kept as it was.
    csv_path = FIXTURES / "baseline-format-2.csv"
    assert csv_path.read_text(encoding="utf-8").splitlines()[0] == ",".join(FORMAT_2_COLUMNS)
    assert json.loads(csv_path.with_suffix(".json").read_text(encoding="utf-8"))["format_version"] == 2
    baseline = load_baseline(csv_path)
    assert baseline.notes == ()  # format 2's digest is still checked
    assert len(baseline.rows) == 5
    fallback_row = baseline.rows[("format_float", "batch", Impl.FALLBACK)]
    assert fallback_row.median_ns == 300.0 and fallback_row.speedup == pytest.approx(10 / 3)
    assert fallback_row.dispatch_overhead_ns is None and fallback_row.alloc_bytes_per_call is None
    assert baseline.rows[("format_float", "batch", Impl.RUST)].alloc_bytes_per_call == 600.0


def _rewrite_sidecar_for(csv_path: Path, **changes: object) -> None:
    """Make the sidecar describe the CSV's current bytes (so only the header can be at fault)."""
    sidecar_path = csv_path.with_suffix(".json")
    sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    raw = csv_path.read_bytes()
    sidecar.update(csv_sha256=hashlib.sha256(raw).hexdigest(), csv_rows=raw.count(b"\n") - 1, **changes)
    sidecar_path.write_text(json.dumps(sidecar), encoding="utf-8")


def test_a_format_3_sidecar_beside_a_13_column_csv_is_a_format_error(tmp_path: Path) -> None:
    # The fallback's overhead columns were cut off (a script that kept the first 13 columns): the rows would
    # load without their overhead, as if the baseline never had one.
    csv_path = write_baseline(run_with_fallback(), tmp_path)
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    kept = len(FORMAT_2_COLUMNS)
    csv_path.write_text("".join(",".join(line.split(",")[:kept]) + "\n" for line in lines), encoding="utf-8")
    _rewrite_sidecar_for(csv_path)
    with pytest.raises(BaselineFormatError, match="expected columns"):
        load_baseline(csv_path)
    _rewrite_sidecar_for(csv_path, format_version=2)  # the same CSV as format 2 describes it: loads
    assert load_baseline(csv_path).rows


def test_a_csv_that_cannot_be_read_is_a_format_error(tmp_path: Path) -> None:
    csv_path = write_baseline(synthetic_run(), tmp_path)
    csv_path.unlink()
    csv_path.mkdir()  # a folder where the CSV should be: an OSError other than "not found"
    with pytest.raises(BaselineFormatError, match="cannot read"):
        load_baseline(csv_path)


def test_the_csv_of_format_3_adds_the_overhead_columns_last() -> None:
    assert BASELINE_COLUMNS == FORMAT_2_COLUMNS + OVERHEAD_COLUMNS


def test_changes_name_the_production_speedup_and_the_overhead(tmp_path: Path) -> None:
    run = run_with_fallback()
    old = load_baseline(write_baseline(run, tmp_path))
    lines = describe_changes(old, rows_from_run(dataclasses.replace(run, pairs=slowed_fallback(run, 2.0))))
    line = next(line for line in lines if line.startswith("format_float/batch/fallback:"))
    assert "median 300 ns -> 600 ns (2x)" in line
    assert "production speedup" in line and "dispatch overhead +40 -> +340 ns" in line


def test_ratios_only_judges_the_production_speedup(tmp_path: Path) -> None:
    run = run_with_fallback()
    baseline = load_baseline(write_baseline(run, tmp_path))
    judged = slowed_fallback(run, 1.5)
    comparisons = baseline_comparisons(judged, baseline, GateOptions(mode=Mode.QUICK, ratios_only=True))
    by_side = {(c.function, c.workload, c.impl): c for c in comparisons}
    for pair in judged:
        assert by_side[(pair.function, pair.workload, Impl.RUST)].outcome is GateOutcome.PASS
        if pair.fallback is None:
            assert (pair.function, pair.workload, Impl.FALLBACK) not in by_side
            continue
        fallback = by_side[(pair.function, pair.workload, Impl.FALLBACK)]
        assert fallback.metric == "fallback_vs_python" and fallback.outcome is GateOutcome.REGRESSION
