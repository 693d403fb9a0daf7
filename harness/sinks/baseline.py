"""Committed baselines: one CSV per kind of machine under ``reports/baselines/``, and what changed since.

``make baseline`` (the command: ``harness.commands.baseline``) runs the bench and records the run as
``reports/baselines/<fingerprint>.csv`` (one row per function x workload x implementation: Rust, Python
and, for the pairs the fallback routes, the fallback; the call floor included as ``_noop/call``) with a
sidecar ``<fingerprint>.json`` holding the environment, run id, mode and git commit. Before overwriting,
it prints per row what changed against the previous baseline of the same fingerprint.

The CSV is diff-friendly: rows sorted by function, workload, impl; fixed column order; floats written with
``repr`` (shortest round-trip form) so an unchanged value never shows as a diff; empty cells for values that
were not measured. ``reports/README.md`` documents every column.

``load_baseline(path) -> Baseline`` is what the gate uses to compare a run against a committed baseline.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.atomic import write_bytes_atomic, write_json_atomic
from harness.cells import cell_text, optional_cell
from harness.inputs import InputFileError, one_line, parse_json, read_bytes, read_text
from harness.results import Difference, Impl, MemorySample, PairResult, RunResult, Speedup, TimingSample
from harness.sinks.formatting import format_ns, format_ratio
from harness.stats import median_interval

BASELINES_DIR = Path(__file__).resolve().parents[2] / "reports" / "baselines"
FLOOR_FUNCTION = "_noop"  # the call floor's row: function "_noop", workload "call"

# The columns of a sidecar format 2 CSV (and of format 1): still read, with no dispatch overhead.
FORMAT_2_COLUMNS: tuple[str, ...] = (
    "function",
    "workload",
    "impl",
    "median_ns",
    "median_ci_low_ns",
    "median_ci_high_ns",
    "rounds",
    "speedup",
    "ci_low",
    "ci_high",
    "alloc_bytes_per_call",
    "allocs_per_call",
    "peak_rss_bytes",
)
# Format 3 adds the fallback row's dispatch overhead (fallback - Rust per call) and its interval.
OVERHEAD_COLUMNS: tuple[str, ...] = (
    "dispatch_overhead_ns",
    "dispatch_overhead_ci_low_ns",
    "dispatch_overhead_ci_high_ns",
)
BASELINE_COLUMNS: tuple[str, ...] = FORMAT_2_COLUMNS + OVERHEAD_COLUMNS

RowKey = tuple[str, str, Impl]  # (function, workload, impl)

# Sidecar format history: 1 (no format_version field): environment, run id, mode, commit.
# 2: adds format_version, csv_rows and csv_sha256 (of the CSV's bytes), so a torn CSV/sidecar pair is caught.
# 3: the CSV has the fallback's rows with their memory and OVERHEAD_COLUMNS. Formats 1 and 2 still load (their
#    fallback rows, where there are any, have no memory and no overhead); the CSV's header tells its columns.
SIDECAR_FORMAT_VERSION = 3
READABLE_SIDECAR_VERSIONS = frozenset({1, 2, 3})


class BaselineFormatError(InputFileError):
    """A baseline file (CSV or sidecar) that does not have the expected columns, values or types."""


class BaselineCorruptError(BaselineFormatError):
    """The CSV and its sidecar do not belong together (a torn write), or the sidecar is unreadable.

    The message starts with "baseline is corrupt"; the commands exit 2 on it (a fault of the tool's files,
    never a verdict about the change).
    """


@dataclass(frozen=True)
class BaselineRow:
    """One function x workload x implementation of a baseline.

    ``speedup``, ``ci_low`` and ``ci_high`` belong to the pair (Python time / Rust time) and are repeated on
    its Python and Rust rows; on the fallback's row they are the production speedup (Python time / fallback
    time, what callers get). They are None on the call floor's rows. The ``dispatch_overhead`` fields
    (fallback time - Rust time per call, with its interval) are on the fallback's row only. Memory fields are
    None where not measured.
    """

    function: str
    workload: str
    impl: Impl
    median_ns: float
    median_ci_low_ns: float
    median_ci_high_ns: float
    rounds: int
    speedup: float | None
    ci_low: float | None
    ci_high: float | None
    alloc_bytes_per_call: float | None
    allocs_per_call: float | None
    peak_rss_bytes: int | None
    dispatch_overhead_ns: float | None = None
    dispatch_overhead_ci_low_ns: float | None = None
    dispatch_overhead_ci_high_ns: float | None = None

    @property
    def key(self) -> RowKey:
        return (self.function, self.workload, self.impl)


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: its machine fingerprint, the environment it was measured in, and its rows.

    ``rows`` maps ``(function, workload, impl)`` to the row; ``environment`` is empty without the sidecar.
    """

    fingerprint: str
    environment: Mapping[str, str]
    rows: Mapping[RowKey, BaselineRow]
    run_id: str = ""
    mode: str = ""
    git_commit: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # why the CSV's integrity could not be checked, if it could not


def rows_from_run(run: RunResult) -> list[BaselineRow]:
    """Baseline rows for every timed pair and the call floor, sorted by function, workload, impl."""
    rows: list[BaselineRow] = []
    for pair in run.pairs:
        rows += _pair_rows(pair, with_speedup=True)
    if run.call_floor is not None:
        rows += _pair_rows(run.call_floor, with_speedup=False)
    return sorted(rows, key=lambda row: (row.function, row.workload, str(row.impl)))


def _pair_rows(pair: PairResult, with_speedup: bool) -> list[BaselineRow]:
    """The pair's Python and Rust rows (each with Python / Rust), and its fallback's row where the fallback
    routes it (with what callers get, Python / fallback): ``gate --baseline`` judges all three sides."""
    sides: list[tuple[TimingSample, MemorySample | None, Speedup | None, Difference | None]] = [
        (pair.python, pair.python_memory, pair.speedup, None),
        (pair.rust, pair.rust_memory, pair.speedup, None),
    ]
    if pair.fallback is not None:
        sides.append((pair.fallback, pair.fallback_memory, pair.production_speedup, pair.dispatch_overhead))
    rows = []
    for sample, memory, side_speedup, overhead in sides:
        speedup = side_speedup if with_speedup else None
        median_low_ns, median_high_ns = median_interval(sample.values_ns)
        rows.append(
            BaselineRow(
                function=pair.function,
                workload=pair.workload,
                impl=sample.impl,
                median_ns=sample.median_ns,
                median_ci_low_ns=median_low_ns,
                median_ci_high_ns=median_high_ns,
                rounds=len(sample.values_ns),
                speedup=speedup.value if speedup else None,
                ci_low=speedup.ci_low if speedup else None,
                ci_high=speedup.ci_high if speedup else None,
                alloc_bytes_per_call=memory.alloc_bytes_per_call if memory else None,
                allocs_per_call=memory.allocs_per_call if memory else None,
                peak_rss_bytes=memory.peak_rss_bytes if memory else None,
                dispatch_overhead_ns=overhead.value_ns if overhead else None,
                dispatch_overhead_ci_low_ns=overhead.ci_low_ns if overhead else None,
                dispatch_overhead_ci_high_ns=overhead.ci_high_ns if overhead else None,
            )
        )
    return rows


def baseline_paths(fingerprint: str, directory: Path = BASELINES_DIR) -> tuple[Path, Path]:
    """The CSV and its JSON sidecar for a machine fingerprint."""
    if not fingerprint or "/" in fingerprint or fingerprint.startswith("."):
        raise ValueError(f"not a usable machine fingerprint for a file name: {fingerprint!r}")
    return directory / f"{fingerprint}.csv", directory / f"{fingerprint}.json"


def _csv_text(rows: Iterable[BaselineRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BASELINE_COLUMNS)
    for row in rows:
        writer.writerow([cell_text(getattr(row, column)) for column in BASELINE_COLUMNS])
    return buffer.getvalue()


def write_baseline(run: RunResult, directory: Path = BASELINES_DIR) -> Path:
    """Write the run as the baseline of its machine fingerprint (CSV + JSON sidecar); return the CSV.

    Each file is replaced atomically, the CSV first; the sidecar names the CSV's row count and SHA-256, so
    a pair torn by a crash between the two renames is detected on load (``BaselineCorruptError``).
    """
    fingerprint = run.environment.get("machine_fingerprint", "")
    csv_path, sidecar_path = baseline_paths(fingerprint, directory)
    rows = rows_from_run(run)
    csv_bytes = _csv_text(rows).encode("utf-8")
    sidecar = {
        "format_version": SIDECAR_FORMAT_VERSION,
        "csv_rows": len(rows),
        "csv_sha256": hashlib.sha256(csv_bytes).hexdigest(),
        "fingerprint": fingerprint,
        "run_id": run.run_id,
        "mode": run.mode,
        "git_commit": run.environment.get("git_commit", ""),
        "started_at_unix_s": run.started_at_unix_s,
        "interrupted": run.interrupted,
        "environment": dict(sorted(run.environment.items())),
    }
    write_bytes_atomic(csv_path, csv_bytes)
    write_json_atomic(sidecar_path, sidecar)
    return csv_path


def _finite(text: str) -> float:
    """A float cell: ``float()``'s syntax, but NaN and infinity are no measurement."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def _row(record: Mapping[str | None, Any], columns: tuple[str, ...]) -> BaselineRow:
    """One CSV record (of a file with ``columns``) as a row; ValueError naming the bad cell."""
    if None in record or any(value is None for value in record.values()):  # DictReader's extra / missing
        raise ValueError(f"expected {len(columns)} cells")

    def cell(column: str, convert: Callable[[str], Any], *, optional: bool = False) -> Any:
        text = record.get(column, "")  # a column of a later format than the file's: an empty cell
        try:
            return optional_cell(text, convert) if optional else convert(text)
        except ValueError as error:
            raise ValueError(f"{column}: {error}") from error

    row = BaselineRow(
        function=record["function"],
        workload=record["workload"],
        impl=cell("impl", Impl),
        median_ns=cell("median_ns", _finite),
        median_ci_low_ns=cell("median_ci_low_ns", _finite),
        median_ci_high_ns=cell("median_ci_high_ns", _finite),
        rounds=cell("rounds", int),
        speedup=cell("speedup", _finite, optional=True),
        ci_low=cell("ci_low", _finite, optional=True),
        ci_high=cell("ci_high", _finite, optional=True),
        alloc_bytes_per_call=cell("alloc_bytes_per_call", _finite, optional=True),
        allocs_per_call=cell("allocs_per_call", _finite, optional=True),
        peak_rss_bytes=cell("peak_rss_bytes", int, optional=True),
        dispatch_overhead_ns=cell("dispatch_overhead_ns", _finite, optional=True),
        dispatch_overhead_ci_low_ns=cell("dispatch_overhead_ci_low_ns", _finite, optional=True),
        dispatch_overhead_ci_high_ns=cell("dispatch_overhead_ci_high_ns", _finite, optional=True),
    )
    if not (row.function and row.workload):
        raise ValueError("function and workload must not be empty")
    if not row.median_ns > 0 or row.rounds < 1:
        raise ValueError("median_ns must be > 0 and rounds >= 1")
    return row


def _expected_columns(sidecar_version: int | None) -> tuple[tuple[str, ...], ...]:
    """The CSV headers a sidecar of this format may describe (None: no sidecar, any header we wrote)."""
    if sidecar_version is None or sidecar_version == 1:  # nothing to hold the header against
        return (BASELINE_COLUMNS, FORMAT_2_COLUMNS)
    # A format-3 sidecar was written with the fallback's columns: a 13-column CSV beside it lost them.
    return (BASELINE_COLUMNS,) if sidecar_version >= 3 else (FORMAT_2_COLUMNS,)


def _read_rows(path: Path, sidecar_version: int | None) -> dict[RowKey, BaselineRow]:
    """The CSV's rows by key; BaselineFormatError naming the file, the line and the problem."""
    text = read_text(path, BaselineFormatError)
    rows: dict[RowKey, BaselineRow] = {}
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = tuple(reader.fieldnames or ())
        expected = _expected_columns(sidecar_version)
        if columns not in expected:
            raise BaselineFormatError(f"{path}: expected columns {expected[0]}, got {reader.fieldnames}")
        for record in reader:
            try:
                row = _row(record, columns)
            except ValueError as error:
                raise BaselineFormatError(f"{path}:{reader.line_num}: {one_line(str(error))}") from error
            if row.key in rows:
                raise BaselineFormatError(f"{path}:{reader.line_num}: duplicate row {row.key}")
            rows[row.key] = row
    except csv.Error as error:  # a NUL byte, an unterminated quote: the file is not a CSV we wrote
        raise BaselineFormatError(f"{path}:{reader.line_num}: not CSV: {error}") from error
    if not rows:
        raise BaselineFormatError(f"{path}: no rows")
    return rows


@dataclass(frozen=True)
class _Sidecar:
    """The types of the sidecar's keys ``load_baseline`` reads; other keys are left to their readers."""

    fingerprint: str = ""
    run_id: str = ""
    mode: str = ""
    git_commit: str = ""
    started_at_unix_s: float = 0.0
    interrupted: bool = False
    environment: dict[str, str] = field(default_factory=dict)
    format_version: int = 1
    csv_rows: int = 0
    csv_sha256: str = ""


def _read_sidecar(sidecar_path: Path) -> dict[str, Any]:
    """The sidecar as a dict (empty without one), its known keys checked for their types."""
    try:
        raw = read_bytes(sidecar_path, BaselineFormatError)
    except FileNotFoundError:
        return {}
    parse_json(_Sidecar, raw, sidecar_path, BaselineFormatError)
    metadata: dict[str, Any] = json.loads(raw)  # valid: parse_json checked it is an object
    return metadata


def _check_integrity(csv_path: Path, sidecar_path: Path, metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """Raise ``BaselineCorruptError`` if the CSV is not the one the sidecar was written with.

    Returns notes for a baseline that cannot be checked (no sidecar, or one of format 1).
    """
    if not metadata:
        return (f"{csv_path.name} has no sidecar {sidecar_path.name}: its integrity is not checked",)
    version = metadata.get("format_version", 1)
    if version == 1:
        return (
            f"{sidecar_path.name} is of format 1 (no row count or digest): the CSV's integrity is not "
            f"checked; `make baseline` rewrites it as format {SIDECAR_FORMAT_VERSION}",
        )
    if version not in READABLE_SIDECAR_VERSIONS:
        raise BaselineFormatError(f"{sidecar_path}: sidecar format {version!r} is not supported")
    csv_bytes = read_bytes(csv_path, BaselineFormatError)
    digest = hashlib.sha256(csv_bytes).hexdigest()
    if digest != metadata.get("csv_sha256"):
        raise BaselineCorruptError(
            f"{csv_path}: baseline is corrupt: the CSV ({_data_rows(csv_bytes)} rows, sha256 "
            f"{digest[:12]}) is not the one its sidecar {sidecar_path} describes ({metadata.get('csv_rows')} "
            f"rows, sha256 {str(metadata.get('csv_sha256'))[:12]}); record it again with `make baseline`"
        )
    return ()


def _data_rows(csv_bytes: bytes) -> int | str:
    """The CSV's row count without its header, for a message ("?" if it does not even parse as CSV)."""
    try:
        return max(0, len(list(csv.reader(io.StringIO(csv_bytes.decode("utf-8", "replace"))))) - 1)
    except csv.Error:
        return "?"


def load_baseline(path: Path) -> Baseline:
    """Read a baseline CSV (and its ``.json`` sidecar if present) into a ``Baseline``.

    Raises ``FileNotFoundError`` if the CSV is missing, ``BaselineFormatError`` (an InputFileError) naming
    the file, the line and the problem if it is unreadable, not UTF-8, not CSV, or a column or value is wrong,
    and ``BaselineCorruptError`` (a BaselineFormatError) if the CSV is not the one its sidecar describes.
    """
    # The pair is checked before the rows are read: a torn CSV is reported as such, not as a bad value.
    sidecar_path = path.with_suffix(".json")
    metadata = _read_sidecar(sidecar_path)
    notes = _check_integrity(path, sidecar_path, metadata)
    rows = _read_rows(path, int(metadata.get("format_version", 1)) if metadata else None)
    return Baseline(
        fingerprint=str(metadata.get("fingerprint", path.stem)),
        environment=dict(metadata.get("environment", {})),
        rows=rows,
        run_id=str(metadata.get("run_id", "")),
        mode=str(metadata.get("mode", "")),
        git_commit=str(metadata.get("git_commit", "")),
        metadata=metadata,
        notes=notes,
    )


def describe_changes(old: Baseline, new_rows: Iterable[BaselineRow]) -> list[str]:
    """One line per row: old -> new median (ratio new/old), the speedup's change on the Rust row, and the
    production speedup's and dispatch overhead's on the fallback's row.

    Rows only in the new run are marked ``new``, rows only in the old baseline ``gone``.
    """
    lines: list[str] = []
    seen: set[RowKey] = set()
    for row in new_rows:
        seen.add(row.key)
        name = "/".join((row.function, row.workload, str(row.impl)))
        previous = old.rows.get(row.key)
        if previous is None:
            lines.append(f"{name}: new, median {format_ns(row.median_ns)}")
            continue
        line = (
            f"{name}: median {format_ns(previous.median_ns)} -> {format_ns(row.median_ns)} "
            f"({format_ratio(row.median_ns / previous.median_ns)})"
        )
        if row.impl is not Impl.PYTHON and row.speedup is not None and previous.speedup is not None:
            label = "production speedup" if row.impl is Impl.FALLBACK else "speedup"
            line += (
                f"; {label} {format_ratio(previous.speedup)} -> {format_ratio(row.speedup)} "
                f"({format_ratio(row.speedup / previous.speedup)})"
            )
        if row.dispatch_overhead_ns is not None and previous.dispatch_overhead_ns is not None:
            line += (
                f"; dispatch overhead {previous.dispatch_overhead_ns:+.4g} -> "
                f"{row.dispatch_overhead_ns:+.4g} ns"
            )
        if row.alloc_bytes_per_call is not None and previous.alloc_bytes_per_call is not None:
            line += (
                f"; alloc bytes/call {previous.alloc_bytes_per_call:.6g} -> {row.alloc_bytes_per_call:.6g}"
            )
        lines.append(line)
    for key in sorted(set(old.rows) - seen, key=lambda key: (key[0], key[1], str(key[2]))):
        lines.append(f"{'/'.join((key[0], key[1], str(key[2])))}: gone (in the previous baseline only)")
    return lines


def record_baseline(run: RunResult, directory: Path = BASELINES_DIR) -> tuple[Path, list[str]]:
    """Describe the changes against the previous baseline of this fingerprint, then overwrite it.

    Returns the CSV path and the change lines (empty list and a note line if there was no previous one).
    """
    csv_path, _ = baseline_paths(run.environment.get("machine_fingerprint", ""), directory)
    new_rows = rows_from_run(run)
    if not csv_path.exists():
        changes = [f"no previous baseline at {csv_path}: recording the first one"]
    else:
        try:
            changes = describe_changes(load_baseline(csv_path), new_rows)
        except BaselineFormatError as error:
            # Recording a fresh baseline is the repair of a corrupt or unreadable one.
            changes = [f"previous baseline not compared ({error}): recording a fresh one"]
    write_baseline(run, directory)
    return csv_path, changes
