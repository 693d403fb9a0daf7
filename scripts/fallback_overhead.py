"""What harness.functions.fallback adds to each call: the worker times rust, python and fallback side by side.

Usage: ``.venv/bin/python scripts/fallback_overhead.py [--mode quick|default|full] [--rounds N] [--only F]``.

One timing worker (``python -m harness.worker``) serves all three sides, so they share the process, the data
and the timing loop; each round times every side of a workload once, in a rotating order, and each side keeps
the loop count it calibrated in the first round. A side's figure in a round is the least of its short values
(on a shared machine the least is the one other jobs disturbed least). Prints one row per workload: the
medians over rounds of each side's figure, the dispatch overhead (fallback - rust, per round) with its range
over rounds, and the callers' speedup (python / fallback, the median of per-round ratios). A stand-in until
the bench times the fallback as a third side of every pair.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.functions.pairs.workload_types import DEFAULT_SCRATCH, Mode, Workload
from harness.functions.registry import build_registry
from harness.measure.worker import FALLBACK_SIDE, WorkerClient, WorkerError

SIDES = ("rust", "python", FALLBACK_SIDE)


@dataclass
class WorkloadTimes:
    """Per side, the per-call figure (ns) of each round, and the loop count calibrated in the first."""

    function: str
    workload: str
    figures_ns: dict[str, list[float]] = field(default_factory=lambda: {side: [] for side in SIDES})
    loops: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(SIDES))


def _time_side(client: WorkerClient, times: WorkloadTimes, side: str, values: int, min_time_s: float) -> None:
    request = {
        "op": "time",
        "function": times.function,
        "impl": side,
        "workload": times.workload,
        "loops": times.loops[side],
        "values": values,
        "warmups": 1,
        "min_time_s": min_time_s,
    }
    response = client.request(request)
    times.loops[side] = int(response["loops"])
    times.figures_ns[side].append(min(float(v) for v in response["values_ns"]))


def _measure(
    client: WorkerClient, workload: Workload, rounds: int, values: int, min_time_s: float
) -> WorkloadTimes:
    times = WorkloadTimes(workload.function, workload.id)
    for round_index in range(rounds):
        shift = round_index % len(SIDES)  # rotate which side goes first
        for side in SIDES[shift:] + SIDES[:shift]:
            _time_side(client, times, side, values, min_time_s)
    return times


def _row(times: WorkloadTimes) -> str:
    rust, python, wrapped = (times.figures_ns[side] for side in SIDES)
    overheads = [fallback - direct for fallback, direct in zip(wrapped, rust, strict=True)]
    speedups = [slow / fast for slow, fast in zip(python, wrapped, strict=True)]
    return (
        f"| `{times.function}` | {times.workload} | {statistics.median(rust):,.0f} | "
        f"{statistics.median(python):,.0f} | {statistics.median(wrapped):,.0f} | "
        f"{statistics.median(overheads):+,.0f} [{min(overheads):+,.0f}, {max(overheads):+,.0f}] | "
        f"{statistics.median(speedups):.2f}x |"
    )


def _workloads(mode: Mode, only: Sequence[str]) -> list[Workload]:
    chosen: list[Workload] = []
    for function, pair in build_registry().items():
        if not only or function in only:
            chosen.extend(pair.workloads_for(mode))
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", type=Mode, default=Mode.DEFAULT, choices=list(Mode))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--values", type=int, default=10, help="values per side and round")
    parser.add_argument("--min-time-s", type=float, default=0.002, help="calibration target of one value")
    parser.add_argument("--only", action="append", default=[], help="a function (repeatable)")
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.values < 1 or args.min_time_s <= 0:
        parser.error("--rounds and --values must be >= 1 and --min-time-s > 0")
    columns = ("function", "workload", "rust ns", "python ns", "fallback ns", "fallback - rust ns [range]")
    print("| " + " | ".join((*columns, "python / fallback")) + " |")
    print("|---|---|---|---|---|---|---|")
    try:
        with WorkerClient(Path(sys.executable), args.scratch) as client:
            for workload in _workloads(args.mode, args.only):
                print(_row(_measure(client, workload, args.rounds, args.values, args.min_time_s)), flush=True)
    except WorkerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
