"""Command-line options shared by ``gate``, ``calibrate`` and ``experiment``: what to measure, how hard."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from harness.cli import add_mode_arguments
from harness.engine import MeasurePlan, Purpose, plan_for
from harness.gate.config import DEFAULT_CONFIG
from harness.workloads import DEFAULT_SCRATCH, Mode


def _rounds(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2, got {text}")
    return value


def add_measure_arguments(parser: argparse.ArgumentParser) -> None:
    add_mode_arguments(
        parser,
        quick_help="the CI gate's workloads and rounds",
        full_help="every workload, more rounds",
        only_help="only this function (repeatable); one of: ",
    )
    parser.add_argument("--rounds", type=_rounds, help="interleaved rounds (default: by --quick/--full)")
    parser.add_argument("--no-memory", action="store_true", help="skip the allocation comparison")
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, help="workload data folder")
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="gate settings (default: %(default)s)"
    )


def mode_of(arguments: argparse.Namespace, default: Mode = Mode.DEFAULT) -> Mode:
    return Mode.QUICK if arguments.quick else Mode.FULL if arguments.full else default


def plan_of(arguments: argparse.Namespace, default: Mode = Mode.DEFAULT) -> MeasurePlan:
    plan = plan_for(Purpose.GATE, mode_of(arguments, default))
    if arguments.rounds:
        plan = plan.with_rounds(arguments.rounds)
    if arguments.no_memory:
        plan = replace(plan, memory_calls=0)
    return plan
