"""The scaling part of ``report.md``: each function measured at several sizes, beside its physical references
(hashlib and coreutils throughput, bytes read per call), with MB/s where the size is in bytes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from harness.measure.physical import BYTES_READ_PER_CALL, COREUTILS_NS, HASHLIB_NS, references_of
from harness.results import PairResult, RunResult
from harness.sinks.formatting import (
    format_bytes,
    format_count,
    format_ns,
    format_ratio,
    format_size,
    markdown_table,
)

# How report.md names each kind of physical reference (harness.measure.physical), in column order.
_REFERENCE_LABELS = {
    HASHLIB_NS: "hashlib (OpenSSL)",
    COREUTILS_NS: "md5sum/sha256sum",
    BYTES_READ_PER_CALL: "bytes read per call",
}


def _format_reference(what: str, value: float | None) -> str:
    if value is None:
        return "-"
    return format_ns(value) if what.endswith("_ns") else format_bytes(value)


def scaling_section(run: RunResult) -> list[str]:
    by_function: dict[str, list[PairResult]] = defaultdict(list)
    for pair in run.pairs:
        if pair.size is not None:
            by_function[pair.function].append(pair)
    scaled = {function: pairs for function, pairs in by_function.items() if len({p.size for p in pairs}) > 1}
    lines = ["## Scaling", ""]
    if not scaled:
        return [*lines, "No function was measured at more than one size in this run.", ""]
    for function, pairs in sorted(scaled.items()):
        pairs.sort(key=lambda pair: (pair.size or 0.0, pair.workload))
        references = {
            pair.workload: references_of(run.physical_references, pair.function, pair.workload)
            for pair in pairs
        }
        kinds = [what for what in _REFERENCE_LABELS if any(what in found for found in references.values())]
        rows = [
            [
                pair.workload,
                format_size(pair.size, pair.size_unit),
                format_ns(pair.python.median_ns),
                format_ns(pair.rust.median_ns),
                format_ratio(pair.speedup.value),
                *(_format_reference(what, references[pair.workload].get(what)) for what in kinds),
            ]
            for pair in pairs
        ]
        header = (
            "workload",
            "size",
            "Python",
            "Rust",
            "speedup",
            *(_REFERENCE_LABELS[what] for what in kinds),
        )
        lines += [f"### {function}", "", *markdown_table(header, rows), ""]
        time_kinds = [what for what in kinds if what.endswith("_ns")]
        if time_kinds:
            lines += _throughput_table(pairs, references, time_kinds)
    return lines


def _throughput_table(
    pairs: Sequence[PairResult], references: Mapping[str, Mapping[str, float]], kinds: Sequence[str]
) -> list[str]:
    """MB/s of each side and of each time reference, for the pairs that have a reference."""
    rows = [
        [
            pair.workload,
            format_size(pair.size, pair.size_unit),
            _megabytes_per_second(pair.size, pair.python.median_ns),
            _megabytes_per_second(pair.size, pair.rust.median_ns),
            *(_megabytes_per_second(pair.size, references[pair.workload].get(what)) for what in kinds),
        ]
        for pair in pairs
        if references[pair.workload] and pair.size_unit == "bytes"
    ]
    if not rows:
        return []
    header = (
        "workload",
        "size",
        "Python MB/s",
        "Rust MB/s",
        *(f"{_REFERENCE_LABELS[w]} MB/s" for w in kinds),
    )
    notes = []
    if HASHLIB_NS in kinds:
        notes.append(
            "hashlib: open, hashlib.new and a readinto loop over 256 KiB blocks into one reused buffer, then "
            ".digest(), in Python: on large files OpenSSL's hashing speed, the floor for either port; on "
            "small files mostly Python's own cost of opening and reading, which a port can beat"
        )
    if COREUTILS_NS in kinds:
        notes.append("md5sum/sha256sum: one subprocess per file, so its time includes starting the process")
    return [*markdown_table(header, rows), "", "MB = 10^6 bytes. " + "; ".join(notes) + ".", ""]


def _megabytes_per_second(size_bytes: float | None, median_ns: float | None) -> str:
    if size_bytes is None or median_ns is None or median_ns <= 0:
        return "-"
    return format_count(size_bytes / median_ns * 1e3)  # bytes/ns = 10^9 B/s = 10^3 MB/s
