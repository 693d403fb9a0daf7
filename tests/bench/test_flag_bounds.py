"""The bench's numeric flags refuse what would hang, overflow or fork without end, before anything runs."""

from __future__ import annotations

import pytest

from harness.cli import build_parser


@pytest.mark.parametrize(
    "flags",
    [
        ["--min-time", "inf"],
        ["--min-time", "nan"],
        ["--min-time", "61"],
        ["--pair-budget", "inf"],
        ["--pair-budget", "nan"],
        ["--pair-budget", "1e9"],
        ["--processes", "100000"],
        ["--processes", "two"],
        ["--min-rounds", "0"],
        ["--telemetry-timeout", "inf"],
    ],
)
def test_unbounded_values_are_usage_errors(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser(load={"bench"}).parse_args(["bench", *flags])
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"skybench bench: error: argument {flags[0]}")
    assert stderr.endswith("(see skybench bench --help)\n") and stderr.count("\n") == 1


def test_values_at_the_bounds_are_taken() -> None:
    args = build_parser(load={"bench"}).parse_args(
        [
            "bench",
            "--min-time",
            "60",
            "--pair-budget",
            "86400",
            "--processes",
            "64",
            "--telemetry-timeout",
            "600",
        ]
    )
    assert (args.min_time, args.pair_budget, args.processes, args.telemetry_timeout) == (
        60.0,
        86400.0,
        64,
        600.0,
    )
