"""report.md from a synthetic run: every function, interval, verdict and flag appears where it should."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness.sinks.report
import harness.sinks.report_claims
import harness.sinks.report_floors
import harness.sinks.report_scaling
from harness.results import Verdict
from harness.sinks.formatting import format_bytes, format_ns, format_percent
from harness.sinks.report import is_floor_bound, render_report, write_report
from harness.stats import geometric_mean_speedup

from .synthetic import TIMER_OVERHEAD_NS, pair, run_with_references, synthetic_run


def _section(text: str, heading: str) -> str:
    """The text of one ``## heading`` section."""
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _row(section: str, *cells: str) -> str:
    """The one table row of ``section`` that starts with these cells."""
    prefix = "| " + " | ".join(cells) + " |"
    rows = [line for line in section.splitlines() if line.startswith(prefix)]
    assert len(rows) == 1, f"expected one row starting {prefix!r} in:\n{section}"
    return rows[0]


def test_write_report_creates_report_md_in_the_run_folder(tmp_path: Path) -> None:
    path = write_report(synthetic_run(), tmp_path / "run")
    assert path == tmp_path / "run" / "report.md"
    assert path.read_text(encoding="utf-8") == render_report(synthetic_run())


def test_every_pair_appears_with_its_interval_width_claim_and_verdict() -> None:
    run = synthetic_run()
    speedups = _section(render_report(run), "Speedups")
    for result in run.pairs:
        row = _row(speedups, result.function, result.workload)
        assert f"[{result.speedup.ci_low:.3g}, {result.speedup.ci_high:.3g}]" in row
        assert f"-{result.speedup.relative_reach_below * 100:.1f}% / +" in row
        assert str(result.verdict) in row
    assert "| 12x | [11.6, 12.4] | -3.0% / +3.0% |  | 10x | confirmed |" in _row(
        speedups, "base36_encode", "hex32"
    )
    assert "**refuted**" in _row(speedups, "get_parallel_threads", "aws")
    # format_float's interval reaches 8% each way: beyond the 5% target, and said so.
    assert "-8.0% / +8.0% (wide)" in _row(speedups, "format_float", "batch")
    assert "1 of 9 intervals reach more than 5% below or above their value" in speedups


def test_the_machine_is_named() -> None:
    machine = _section(render_report(synthetic_run()), "Machine")
    assert "| cpu_model | Synthetic CPU @ 1.00GHz |" in machine
    assert "| machine_fingerprint | x86_64-debian-2c-32gib-py311-deadbeef |" in machine


def test_functions_near_the_call_floor_are_flagged_and_others_are_not() -> None:
    floor = _section(render_report(synthetic_run()), "Call floor")
    assert "40 ns in Python and 50 ns through PyO3" in floor
    flagged = _row(floor, "get_parallel_threads", "aws")
    assert "too small for any port to pay off" in flagged
    assert "| 2.4x |" in flagged  # 120 ns of Python / 50 ns Rust floor
    assert "too small" not in _row(floor, "base36_encode", "hex32")


def test_floor_rule_uses_python_time_over_rust_floor() -> None:
    run = synthetic_run()
    just_under = pair("f", "w", python_ns=249.0, rust_ns=100.0, claim=None, verdict=Verdict.NO_CLAIM)
    just_over = pair("f", "w", python_ns=251.0, rust_ns=100.0, claim=None, verdict=Verdict.NO_CLAIM)
    assert is_floor_bound(just_under, run.call_floor)  # 249 / 50 < 5
    assert not is_floor_bound(just_over, run.call_floor)
    assert not is_floor_bound(just_under, None)


def test_criterion_split_gives_work_and_crossing_cost() -> None:
    split = _section(render_report(synthetic_run()), "Rust time split")
    assert "| base36_encode | hex32 | 400 ns | 150 ns | 250 ns | 62.5% |" in split
    assert "hash_file" not in split  # no Criterion time for it: no row, no invented figure


def test_memory_table_and_claim_check() -> None:
    text = render_report(synthetic_run())
    memory = _section(text, "Memory")
    assert "| base36_encode | hex32 | 900 B | 600 B | 33.3% |" in memory
    assert "12.6% (below claim)" in _row(memory, "hash_file", "md5-64MiB")
    assert "| 1 MiB | 1 MiB |" in _row(memory, "hash_file", "sha256-64MiB")  # peak RSS of a large workload
    claims = _section(text, "Global claims")
    assert "memory 15-40% lower" in claims


def test_global_claims_average_and_start_up() -> None:
    run = synthetic_run()
    claims = _section(render_report(run), "Global claims")
    average = geometric_mean_speedup(run.pairs)
    assert f"{average.speedup.value:.3g}x (geometric mean over {average.function_count} functions)" in claims
    assert f"[{average.speedup.ci_low:.3g}, {average.speedup.ci_high:.3g}] | {average.verdict}" in claims
    assert average.verdict is Verdict.REFUTED
    assert "1.25 ms to import sky_rs | - | confirmed" in claims


def test_memory_claim_is_the_median_of_per_pair_reductions() -> None:
    # Synthetic memory: base36_encode 33.3% less, get_parallel_threads 100% less, six hash_file pairs 12.6%
    # less: the median is 12.6%, below the claimed 15-40%.
    claims = _section(render_report(synthetic_run()), "Global claims")
    row = _row(claims, "memory 15-40% lower")
    assert "| 12.6% fewer bytes/call (median over 8 pairs) | - | refuted |" in row


def test_report_has_no_statistics_of_its_own() -> None:
    # One source of each statistic: the report calls harness.stats, it does not recompute.
    for module in (
        harness.sinks.report,
        harness.sinks.report_claims,
        harness.sinks.report_floors,
        harness.sinks.report_scaling,
    ):
        for twin in ("geometric_mean_speedup", "memory_reduction", "overall_memory_reduction", "verdict_for"):
            assert twin not in vars(module) or vars(module)[twin].__module__ == "harness.stats"


def test_scaling_not_comparable_and_interruption_are_reported() -> None:
    text = render_report(synthetic_run(interrupted=True))
    assert "This run was interrupted" in text
    # The synthetic run has results for base36_encode, format_float, get_parallel_threads, hash_file and
    # truncate_long_string (not comparable); the other seven functions have none.
    missing_line = next(
        line for line in text.splitlines() if line.startswith("> Functions without any result")
    )
    assert "read_last_n_lines" in missing_line and "estimate_fd_for_directory" in missing_line
    assert "hash_file" not in missing_line and "truncate_long_string" not in missing_line
    scaling = _section(text, "Scaling")
    assert "### hash_file" in scaling
    assert "| md5-4KiB | 4 KiB |" in scaling
    not_comparable = _section(text, "Not comparable")
    assert "| truncate_long_string | unicode | python 'ab...' != rust 'a...' |" in not_comparable
    assert "interrupted" not in render_report(synthetic_run(interrupted=False))


def test_report_without_floor_criterion_or_memory_says_so() -> None:
    run = synthetic_run()
    bare = type(run)(
        run_id="bare",
        mode="quick",
        started_at_unix_s=0.0,
        duration_seconds=1.0,
        environment={},
        pairs=(pair("f", "w", 300.0, 100.0, claim=2.0, verdict=Verdict.CONFIRMED),),
    )
    text = render_report(bare)
    assert "call floor (no-op functions) was not measured" in text
    assert "No Criterion time matches" in text
    assert "Memory was not measured" in text
    assert "start-up under 5 ms | not measured" in text


@pytest.mark.parametrize(
    ("value_ns", "expected"),
    [(41.25, "41.2 ns"), (3_050.0, "3.05 µs"), (3_050_000.0, "3.05 ms"), (2.5e9, "2.5 s"), (None, "-")],
)
def test_format_ns(value_ns: float | None, expected: str) -> None:
    assert format_ns(value_ns) == expected


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(73.93) == "73.9 B"
    assert format_bytes(1.5 * 2**20) == "1.5 MiB"
    # Between 1000 and 1023 of a unit: digits, never "1.02e+03 KiB".
    assert format_bytes(1000) == "1,000 B"
    assert format_bytes(1020 * 2**10) == "1,020 KiB"


def test_format_percent_never_shows_negative_zero() -> None:
    assert format_percent(-0.00001) == "0.0%"
    assert format_percent(-0.25) == "-25.0%"
    assert format_percent(None) == "-"


def test_timer_overhead_is_shown_next_to_the_call_floor() -> None:
    floor = _section(render_report(run_with_references()), "Call floor")
    assert "the timing loop itself" in floor and f"adds {format_ns(TIMER_OVERHEAD_NS)} of that" in floor
    assert "timing loop's own cost was not measured" in _section(render_report(synthetic_run()), "Call floor")


def test_hash_file_throughput_table_has_both_sides_and_both_references() -> None:
    scaling = _section(render_report(run_with_references()), "Scaling")
    hash_file = scaling[scaling.index("### hash_file") : scaling.index("### read_last_n_lines")]
    assert "| hashlib (OpenSSL) | md5sum/sha256sum |" in hash_file  # references in the scaling table
    assert "| Python MB/s | Rust MB/s | hashlib (OpenSSL) MB/s | md5sum/sha256sum MB/s |" in hash_file
    # 1 MiB (1,048,576 bytes) hashed by hashlib in 500 µs is 2,097 MB/s; Rust at 1.5 ns/byte + 1 µs.
    throughput_row = [
        line for line in hash_file.splitlines() if line.startswith("| md5-1MiB |") and "MiB | 6" in line
    ]
    assert throughput_row == ["| md5-1MiB | 1 MiB | 624 | 666 | 2,097 | 736 |"]
    # No coreutils time for sha256-64MiB: a dash, not an invented figure.
    assert any(
        line.startswith("| sha256-64MiB |") and line.endswith("| - |") for line in hash_file.splitlines()
    )
    assert "includes starting the process" in hash_file


def test_read_last_n_lines_scaling_shows_bytes_read_and_no_throughput() -> None:
    scaling = _section(render_report(run_with_references()), "Scaling")
    read_lines = scaling[scaling.index("### read_last_n_lines") :]
    assert "| bytes read per call |" in read_lines
    assert _row(read_lines, "1MB-n1000").endswith("| 144 KiB |")  # 147,456 bytes = 18 chunks of 8 KiB
    assert "MB/s" not in read_lines  # it reads the tail, not the file: a throughput would mislead
