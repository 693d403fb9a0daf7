"""A synthetic ``RunResult`` for the report tests: every section of report.md and every chart has data.

Built to exercise each rule: a confirmed, a refuted and an inconclusive claim, a function too small for any
port to pay off (its Python time is under 5x the Rust call floor), a size-scaled function with two variants,
memory with peak RSS, a Criterion time, a not-comparable pair and an interrupted run.
"""

from __future__ import annotations

from dataclasses import replace

from harness.results import (
    Impl,
    MemorySample,
    NotComparable,
    PairResult,
    RunResult,
    Speedup,
    TimingSample,
    Verdict,
)
from harness.stats import with_fallback

ENVIRONMENT = {
    "cpu_model": "Synthetic CPU @ 1.00GHz",
    "logical_cores": "2",
    "memory_total_bytes": str(24 * 2**30),
    "kernel": "6.1.0-synthetic",
    "os": "Debian GNU/Linux 12 (bookworm)",
    "arch": "x86_64",
    "python_version": "3.11.7",
    "python_implementation": "CPython",
    "rustc_version": "rustc 1.95.0",
    "pyo3_version": "0.30.1",
    "sky_rs_build_profile": "release",
    "sky_rs_path": "/nowhere/sky_rs.so",
    "git_commit": "0123456789abcdef0123456789abcdef01234567",
    "git_dirty": "false",
    "machine_fingerprint": "x86_64-debian-2c-32gib-py311-deadbeef",
}
FLOOR_RUST_NS = 50.0
FLOOR_PYTHON_NS = 40.0


def timing(function: str, impl: Impl, workload: str, median_ns: float) -> TimingSample:
    values = tuple(median_ns * factor for factor in (0.98, 0.99, 1.0, 1.01, 1.02))
    return TimingSample(function=function, impl=impl, workload=workload, values_ns=values, loops=100)


def pair(
    function: str,
    workload: str,
    python_ns: float,
    rust_ns: float,
    *,
    claim: float | None = None,
    verdict: Verdict = Verdict.NO_CLAIM,
    relative_half_width: float = 0.03,
    size: float | None = None,
    size_unit: str = "",
    python_bytes: float | None = None,
    rust_bytes: float | None = None,
    peak_rss_bytes: int | None = None,
) -> PairResult:
    value = python_ns / rust_ns
    speedup = Speedup(
        value=value,
        ci_low=value * (1 - relative_half_width),
        ci_high=value * (1 + relative_half_width),
        method="bootstrap over 5 paired rounds",
    )
    python_memory = rust_memory = None
    if python_bytes is not None and rust_bytes is not None:
        python_memory = MemorySample(function, Impl.PYTHON, workload, python_bytes, 10.0, peak_rss_bytes)
        rust_memory = MemorySample(function, Impl.RUST, workload, rust_bytes, 2.0, peak_rss_bytes)
    return PairResult(
        function=function,
        workload=workload,
        size=size,
        size_unit=size_unit,
        rust=timing(function, Impl.RUST, workload, rust_ns),
        python=timing(function, Impl.PYTHON, workload, python_ns),
        speedup=speedup,
        claimed_speedup=claim,
        verdict=verdict,
        rust_memory=rust_memory,
        python_memory=python_memory,
    )


def synthetic_run(interrupted: bool = False) -> RunResult:
    pairs = [
        pair(
            "base36_encode",
            "hex32",
            4_800.0,
            400.0,
            claim=10.0,
            verdict=Verdict.CONFIRMED,
            python_bytes=900.0,
            rust_bytes=600.0,
        ),
        # 120 ns of Python against a 50 ns Rust floor: no port can be 5x faster.
        pair(
            "get_parallel_threads",
            "aws",
            120.0,
            80.0,
            claim=10.0,
            verdict=Verdict.REFUTED,
            python_bytes=64.0,
            rust_bytes=0.0,
        ),
        pair(
            "format_float",
            "batch",
            1_000.0,
            260.0,
            claim=4.0,
            verdict=Verdict.INCONCLUSIVE,
            relative_half_width=0.08,
        ),
    ]
    for size_bytes in (4096, 1 << 20, 64 << 20):
        for algorithm in ("md5", "sha256"):
            pairs.append(
                pair(
                    "hash_file",
                    _hash_workload_id(algorithm, size_bytes),
                    python_ns=size_bytes * 1.6 + 3_000,
                    rust_ns=size_bytes * 1.5 + 1_000,
                    claim=7.0,
                    verdict=Verdict.REFUTED,
                    size=float(size_bytes),
                    size_unit="bytes",
                    python_bytes=300_000.0,
                    rust_bytes=262_144.0,
                    peak_rss_bytes=size_bytes // 64 if size_bytes >= 1 << 20 else None,
                )
            )
    floor = pair("_noop", "call", FLOOR_PYTHON_NS, FLOOR_RUST_NS)
    return RunResult(
        run_id="20261128T150000Z-synthetic",
        mode="quick",
        started_at_unix_s=1_795_000_000.0,
        duration_seconds=93.0,
        environment=dict(ENVIRONMENT),
        pairs=tuple(pairs),
        not_comparable=(NotComparable("truncate_long_string", "unicode", "python 'ab...' != rust 'a...'"),),
        call_floor=floor,
        import_time_ns={"sky_rs": 1_250_000.0},
        rust_native_ns={"base36_encode/hex32": 150.0},
        fallback_calls={"base36_encode/rust": 12},
        interrupted=interrupted,
    )


def _hash_workload_id(algorithm: str, size_bytes: int) -> str:
    """Ids shaped like the registry's: ``md5-4KiB``, ``sha256-64MiB``."""
    if size_bytes >= 1 << 20:
        return f"{algorithm}-{size_bytes >> 20}MiB"
    return f"{algorithm}-{size_bytes >> 10}KiB"


TIMER_OVERHEAD_NS = 12.0
# hashlib of the 1 MiB file: 2,097 MB/s (1,048,576 bytes in 500 µs).
HASHLIB_1MIB_NS = 500_000.0


def run_with_references() -> RunResult:
    """The synthetic run plus the timing loop's overhead, read_last_n_lines at two sizes and the physical
    references: hashlib for every hash_file file, md5sum/sha256sum for all but one, bytes read per call."""
    run = synthetic_run()
    log_pairs = [
        pair(
            "read_last_n_lines",
            f"{label}-n1000",
            python_ns=90_000.0,
            rust_ns=30_000.0,
            size=size,
            size_unit="bytes",
        )
        for label, size in (("1KB", 1e3), ("1MB", 1e6))
    ]
    references = {
        "read_last_n_lines/1KB-n1000/bytes_read_per_call": 1_000.0,
        "read_last_n_lines/1MB-n1000/bytes_read_per_call": 147_456.0,
    }
    for hash_pair in run.pairs:
        if hash_pair.function == "hash_file":
            size = hash_pair.size or 0.0
            references[f"hash_file/{hash_pair.workload}/hashlib_ns"] = size * 0.45 + 1_000
            if hash_pair.workload != "sha256-64MiB":  # the tool missing for one: no reference, no figure
                references[f"hash_file/{hash_pair.workload}/coreutils_ns"] = size * 0.5 + 900_000
    references["hash_file/md5-1MiB/hashlib_ns"] = HASHLIB_1MIB_NS
    return replace(
        run,
        pairs=(*run.pairs, *log_pairs),
        physical_references=references,
        timer_overhead_ns=TIMER_OVERHEAD_NS,
    )


# The fallback's median per call where the synthetic run times it: get_parallel_threads is slower through
# the fallback (200 ns) than in Python (120 ns), so the report must flag it.
FALLBACK_NS = {"base36_encode": 500.0, "get_parallel_threads": 200.0, "format_float": 300.0}


# What the fallback's own memory pass adds to Rust's figures per call (its dispatch): distinct from Rust's,
# so a sink that copied Rust's memory onto the fallback is caught.
FALLBACK_EXTRA_BYTES = 48.0
FALLBACK_EXTRA_ALLOCS = 1.0


def _fallback_memory(pair: PairResult) -> MemorySample | None:
    """About what Rust allocates, plus the dispatch's own; None where the pair's memory was not measured."""
    rust = pair.rust_memory
    if rust is None:
        return None
    return MemorySample(
        pair.function,
        Impl.FALLBACK,
        pair.workload,
        rust.alloc_bytes_per_call + FALLBACK_EXTRA_BYTES,
        rust.allocs_per_call + FALLBACK_EXTRA_ALLOCS,
        rust.peak_rss_bytes,
    )


def run_with_fallback() -> RunResult:
    """``synthetic_run`` with the fallback timed as a third side of three of its functions, with its memory
    where the pair's memory was measured."""
    run = synthetic_run()
    pairs = tuple(
        replace(
            with_fallback(
                p, timing(p.function, Impl.FALLBACK, p.workload, FALLBACK_NS[p.function]), resamples=200
            ),
            fallback_memory=_fallback_memory(p),
        )
        if p.function in FALLBACK_NS
        else p
        for p in run.pairs
    )
    return replace(run, pairs=pairs)
