"""``experiment``: argument parsing over ``harness.gate.experiment.runs.run_experiment``."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from harness.commands.arguments import (
    Subparsers,
    add_measure_arguments,
    add_neighbour_argument,
    add_policy_arguments,
    add_stage2_arguments,
    bounded_float,
    comma_separated,
    gate_config,
    measure_plan,
    mode_of,
    non_negative_int,
    only_of,
    stage2_looks,
)
from harness.functions.registry import FUNCTIONS, UnknownNameError
from harness.gate.build import BuildError, repo_root
from harness.gate.config import ConfigError
from harness.gate.experiment.options import DEFAULT_TARGETS, EXPERIMENTS_DIR, ExperimentOptions
from harness.gate.experiment.outputs import RunLog, machine_description, settings_summary, write_results
from harness.gate.experiment.patch import PatchError
from harness.gate.experiment.runs import run_experiment
from harness.gate.instructions import InstructionCountError
from harness.gate.measure import Target
from harness.gate.outcome import ExitCode, GateToolError
from harness.measure.engine import MeasurePlan, RoundStatistic, SideOrder
from harness.measure.neighbour import NeighbourError, neighbour_scratch, running_neighbour
from harness.measure.worker_client import WorkerError
from harness.results import Impl

DEFAULT_FRACTIONS = (0.05, 0.10, 0.25)
_fractions = comma_separated(bounded_float(low=0.0, high=10.0, high_inclusive=False))


def _target(text: str) -> Target:
    function, _, workload = text.partition("/")
    if not workload or function not in FUNCTIONS:
        raise argparse.ArgumentTypeError(
            f"expected FUNCTION/WORKLOAD with FUNCTION one of the 12, got {text!r}"
        )
    return Target(function, workload)


def register(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "experiment",
        help="inject known slowdowns and run A/A comparisons: the gate's detection and false-alarm rates",
        description="``experiment``: does the gate catch a known slowdown, and does it stay quiet on "
        "identical builds?",
    )
    parser.add_argument("--target", action="append", type=_target, metavar="FUNCTION/WORKLOAD",
                        help="function to slow down, on this workload (repeatable; default: "
                        + ", ".join(f"{f}/{w}" for f, w in DEFAULT_TARGETS) + ")")  # fmt: skip
    parser.add_argument("--fractions", type=_fractions, default=DEFAULT_FRACTIONS,
                        help="slowdowns to inject (default: 0.05,0.1,0.25)")  # fmt: skip
    parser.add_argument(
        "--runs", type=non_negative_int, default=20, help="injected runs per target and fraction"
    )
    parser.add_argument("--aa-runs", type=non_negative_int, default=20, help="A/A runs (clean against clean)")
    parser.add_argument(
        "--side",
        choices=("python", "rust"),
        default="python",
        help="which side gets the slowdown (default: python)",
    )
    parser.add_argument("--instructions", action="store_true", help="the instruction-count experiment")
    parser.add_argument(
        "--instruction-change", type=float, default=0.02, help="instructions to add (0.02 = 2%%)"
    )
    parser.add_argument("--calibration", type=Path, help="calibration file (default: this machine's, if any)")
    parser.add_argument("--no-calibration", action="store_true", help="ignore calibrated noise floors")
    parser.add_argument(
        "--gate-dir", type=Path, help="where worktrees and venvs live (default: .skybench/gate)"
    )
    parser.add_argument("--out", type=Path, help="results folder (default: reports/experiments/<UTC time>)")
    add_measure_arguments(parser)
    add_stage2_arguments(parser)
    add_policy_arguments(parser)
    add_engine_arguments(parser)
    add_neighbour_argument(parser)
    parser.set_defaults(handler=experiment_command)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The engine's interference options (docs/gate.md, "Measuring beside a neighbour"); off by default."""
    group = parser.add_argument_group("measuring beside a neighbour (each off by default, as measured)")
    group.add_argument("--order", choices=[o.value for o in SideOrder], default=SideOrder.ALTERNATE.value,
                       help="order of the sides within a round: the A B / B A alternation, or drawn at "
                       "random from the seed (recorded per round); default: %(default)s")  # fmt: skip
    group.add_argument(
        "--affinity",
        action="store_true",
        help="pin base and candidate workers to processors of their own, swapped every round",
    )
    group.add_argument(
        "--round-statistic",
        choices=[s.value for s in RoundStatistic],
        default=RoundStatistic.MEDIAN.value,
        help="a round's value from its values: median or min (default: %(default)s)",
    )


def engine_plan(arguments: argparse.Namespace, plan: MeasurePlan) -> MeasurePlan:
    """``plan`` with the interference options ``add_engine_arguments``' flags ask for."""
    return replace(
        plan,
        side_order=SideOrder(arguments.order),
        affinity=arguments.affinity,
        round_statistic=RoundStatistic(arguments.round_statistic),
    )


def experiment_options(arguments: argparse.Namespace, repo: Path, out_dir: Path) -> ExperimentOptions:
    """The experiment's typed options (ConfigError for a bad gate.toml, ValueError for clashing targets)."""
    return ExperimentOptions(
        repo=repo,
        targets=tuple(arguments.target) if arguments.target else ExperimentOptions.targets,
        fractions=arguments.fractions,
        runs=arguments.runs,
        aa_runs=arguments.aa_runs,
        mode=mode_of(arguments),
        only=only_of(arguments),
        plan=replace(engine_plan(arguments, measure_plan(arguments)), memory_calls=0),
        config=gate_config(arguments),
        calibration=arguments.calibration,
        use_calibration=not arguments.no_calibration,
        scratch=arguments.scratch.resolve(),
        gate_dir=arguments.gate_dir,
        out_dir=out_dir,
        side=Impl(arguments.side),
        instructions=arguments.instructions,
        instruction_change=arguments.instruction_change,
        stage2=stage2_looks(arguments),
    )


def experiment_command(arguments: argparse.Namespace) -> int:
    out_dir = arguments.out or EXPERIMENTS_DIR / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        options = experiment_options(arguments, repo_root(Path.cwd()), out_dir)
        # beside every run; recorded in runs.jsonl, results.* and calibration.json
        with running_neighbour(arguments.neighbour, neighbour_scratch(arguments.scratch)) as neighbour:
            rows = run_experiment(
                options,
                progress=lambda message: print(f"  .. {message}", file=sys.stderr),
                neighbour=neighbour,
            )
    except (ConfigError, UnknownNameError, PatchError, ValueError) as error:
        print(f"experiment: usage error: {error}", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    except (BuildError, GateToolError, WorkerError, InstructionCountError, NeighbourError, OSError) as error:
        print(f"experiment: tool error: {error}", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    log = RunLog(out_dir)
    log.write_raw({"kind": "neighbour", "neighbour": neighbour.record.to_json_dict()})
    log.write_raw({"kind": "settings", "settings": settings_summary(options)})
    csv_path, markdown_path = write_results(
        rows, out_dir, machine_description(options.repo), neighbour.record, settings_summary(options)
    )
    print(markdown_path.read_text(encoding="utf-8"))
    print(f"wrote {csv_path}, {markdown_path}, {out_dir / 'runs.jsonl'}")
    return ExitCode.NO_REGRESSION
