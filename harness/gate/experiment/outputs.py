"""The experiment's outputs: results.csv, results.md and runs.jsonl (every run's comparisons)."""

from __future__ import annotations

import csv
import json
import platform
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.atomic import open_atomic_text, write_text_atomic
from harness.gate.experiment.options import ExperimentOptions, ResultRow, timing_regressions
from harness.gate.measure import Target
from harness.measure.environment import collect_environment
from harness.measure.neighbour import NEIGHBOUR_CSV_COLUMNS, NeighbourRecord, NeighbourRun, csv_fields
from harness.results import GateComparison


class RunLog:
    """runs.jsonl: every run's comparisons, so a surprising number can be traced back."""

    def __init__(self, out_dir: Path | None, neighbour: NeighbourRun | None = None) -> None:
        self.path = out_dir / "runs.jsonl" if out_dir is not None else None
        self.neighbour = neighbour
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(
        self,
        kind: str,
        targets: Sequence[Target],
        fraction: float,
        run: int,
        comparisons: Sequence[GateComparison],
        *,
        seconds: float,
    ) -> None:
        self.write_raw({
            "kind": kind, "targets": [asdict(target) for target in targets], "injected": fraction, "run": run,
            "seconds": round(seconds, 1),
            "stage2": [asdict(c) for c in comparisons if c.detail.startswith("stage 2")],
            "regressions": [asdict(c) for c in timing_regressions(comparisons)],
            "comparisons": [asdict(c) for c in comparisons],
            # the neighbour's record so far, and the load average during this run alone
            **({"neighbour": self.neighbour.snapshot().to_json_dict(),
                "load_1min_during_run": self.neighbour.load_during_last(seconds)} if self.neighbour else {}),
        })  # fmt: skip

    def write_raw(self, record: dict[str, Any]) -> None:
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, default=str) + "\n")


_COLUMNS = (
    "kind", "function", "workload", "injected", "iterations", "runs", "detections", "false_alarm_runs",
    "median_measured_change", "sized_change", "cannot_judge_runs",
)  # fmt: skip


def settings_summary(options: ExperimentOptions) -> str:
    """The gate settings every run of the experiment used, one sentence: a rate means nothing without them."""
    policy, stage2 = options.config.policy, options.stage2
    budget = f", no look after {stage2.budget_s:g} s" if stage2.budget_s is not None else ""
    if not options.use_calibration:
        calibration = "none"
    else:
        calibration = str(options.calibration) if options.calibration else "this machine's, if any"
    return (
        f"Gate settings: {options.mode.value} mode, minimum effect {policy.min_effect:.1%}, alpha "
        f"{policy.alpha:g} ({policy.correction}), stage 2 up to {stage2.looks} look(s){budget}, "
        f"calibration {calibration}, {options.side.value} side slowed."
    )


def write_results(
    rows: Sequence[ResultRow],
    out_dir: Path,
    machine: str,
    neighbour: NeighbourRecord | None = None,
    settings: str = "",
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, markdown_path = out_dir / "results.csv", out_dir / "results.md"
    with open_atomic_text(csv_path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow((*_COLUMNS, *NEIGHBOUR_CSV_COLUMNS))
        for row in rows:
            writer.writerow([*(getattr(row, column) for column in _COLUMNS), *csv_fields(neighbour)])
    write_text_atomic(markdown_path, results_markdown(rows, machine, neighbour, settings))
    return csv_path, markdown_path


def results_markdown(
    rows: Sequence[ResultRow], machine: str, neighbour: NeighbourRecord | None = None, settings: str = ""
) -> str:
    lines = [
        f"Gate experiment on {machine}",
        "",
        *([settings, ""] if settings else []),
        *([f"With {neighbour.summary()}.", ""] if neighbour is not None else []),
        "| kind | function / workload | injected | measured while sizing | runs | detected "
        "| runs with a false alarm | median measured | runs that cannot judge |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = row.function + (f" / {row.workload}" if row.workload else "")
        measured = "-" if row.median_measured_change is None else f"{row.median_measured_change:+.1%}"
        detected = "-" if row.kind.endswith("A/A") else f"{row.detections}/{row.runs}"
        sized = "-" if row.sized_change is None else f"{row.sized_change:+.1%}"
        lines.append(
            f"| {row.kind} | {target} | {row.injected:+.0%} | {sized} | {row.runs} | {detected} | "
            f"{row.false_alarm_runs}/{row.runs} | {measured} | {row.cannot_judge_runs}/{row.runs} |"
        )
    return "\n".join(lines) + "\n"


def machine_description(repo: Path) -> str:
    environment = collect_environment(repo)
    return (
        f"{environment['cpu_model']}, {environment['logical_cores']} logical cores, "
        f"{int(environment['memory_total_bytes']) / 2**30:.0f} GiB, {environment['os']}, "
        f"Python {platform.python_version()} (fingerprint {environment['machine_fingerprint']})"
    )
