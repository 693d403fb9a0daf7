"""``gate`` and ``calibrate``: argument parsing over ``run_gate`` and ``run_calibration``.

Exit codes (docs/gate.md): 0 no regression, 1 regression, 2 usage or tool error, 3 cannot judge.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from harness.commands import experiment
from harness.commands.arguments import (
    Subparsers,
    add_measure_arguments,
    add_neighbour_argument,
    add_policy_arguments,
    add_stage2_arguments,
    add_telemetry_arguments,
    bounded_float,
    bounded_int,
    gate_config,
    measure_plan,
    mode_of,
    only_of,
    stage2_looks,
    telemetry_config,
)
from harness.functions.pairs.workload_types import Mode
from harness.functions.registry import UnknownNameError
from harness.gate.build import BuildError, RefError, candidate_build, repo_root
from harness.gate.calibrate import calibration_path, calibration_table, run_calibration, save_calibration
from harness.gate.config import ConfigError, load_config
from harness.gate.floor_drift import warning_lines
from harness.gate.gate import GateOptions, run_gate, targets_for
from harness.gate.instructions import InstructionCountError
from harness.gate.lock import DEFAULT_LOCK_WAIT_S
from harness.gate.noise_floors import machine_fingerprint_here
from harness.gate.outcome import ExitCode, GateToolError, GateUsageError
from harness.gate.outputs import format_table, write_outputs
from harness.gate.source_digest import ensure_fresh_candidate
from harness.gate.suspect_instructions import SuspectInstructions
from harness.gate.telemetry import gate_run, send_gate_run
from harness.measure.engine import MeasurePlan
from harness.measure.neighbour import NeighbourError, NeighbourKind, neighbour_scratch, running_neighbour
from harness.measure.worker_client import WorkerError
from harness.telemetry import TelemetryConfig
from harness.telemetry.delivery import TEXTFILE

DEFAULT_OUT = Path("reports/gate")
_MESSAGE_LIMIT = 600  # characters of an error message shown on its one line
_MAX_LOCK_WAIT_S = 24 * 3600.0


def _add_integrity_arguments(gate: argparse.ArgumentParser) -> None:
    """Where the base is built, and what the gate does about a stale build or another gate."""
    gate.add_argument(
        "--gate-dir", type=Path, help="where worktrees and venvs live (default: .skybench/gate)"
    )
    gate.add_argument(
        "--no-rebuild",
        action="store_true",
        help="refuse (exit 2) instead of rebuilding a venv sky_rs not built from this tree's sources",
    )
    gate.add_argument(
        "--lock-timeout",
        type=bounded_float(low=0.0, high=_MAX_LOCK_WAIT_S, low_inclusive=True),
        default=DEFAULT_LOCK_WAIT_S,
        metavar="SECONDS",
        help="wait this long for another gate using the same gate dir, then exit 2 (default: %(default)g)",
    )


def _register_gate(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    gate = subparsers.add_parser(
        "gate",
        help="regression gate: this tree against a commit (interleaved), a baseline, or instruction counts",
        description="Compare the working tree with REF (default: the parent commit, or the merge base with "
        "the main branch) built in its own worktree and venv, both measured interleaved in this run. "
        "Exit 0 no regression, 1 regression, 2 usage or tool error, 3 cannot judge.",
    )
    gate.add_argument(
        "--against", metavar="REF", help="commit to compare with (default: parent / merge base)"
    )
    gate.add_argument("--baseline", type=Path, metavar="FILE", help="compare with a committed baseline CSV")
    gate.add_argument(
        "--ratios-only",
        action="store_true",
        help="with --baseline: compare the in-run Rust/Python speedups (works across machines)",
    )
    gate.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per call under callgrind instead of time",
    )
    gate.add_argument(
        "--suspect-instructions",
        choices=[s.value for s in SuspectInstructions],
        default=SuspectInstructions.AUTO.value,
        help="also count the Rust time suspects' instructions under callgrind (auto: in --quick mode when "
        "valgrind is found; default: %(default)s)",
    )
    add_measure_arguments(gate)
    add_stage2_arguments(gate)
    gate.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    add_policy_arguments(gate)
    gate.add_argument("--calibration", type=Path, help="calibration file (default: this machine's, if any)")
    gate.add_argument("--no-calibration", action="store_true", help="ignore calibrated noise floors")
    gate.add_argument(
        "--no-floor-drift",
        action="store_true",
        help="skip the physical floors and the floor drift warning (Rust moving away from its floor)",
    )
    _add_integrity_arguments(gate)
    add_telemetry_arguments(gate)
    gate.set_defaults(handler=gate_command)


def register(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    _register_gate(subparsers)
    calibrate = subparsers.add_parser(
        "calibrate",
        help="A/A runs: noise floor and smallest detectable slowdown per comparison on this machine",
        description="Run the working tree against itself (separate processes, interleaved) several times "
        "and save reports/calibration/<machine fingerprint>.json, which the gate then uses.",
    )
    calibrate.add_argument(
        "--runs", type=bounded_int(low=2), default=5, help="A/A runs (default: %(default)s)"
    )
    add_measure_arguments(calibrate)
    calibrate.add_argument(
        "--out", type=Path, help="calibration file (default: reports/calibration/<fp>.json)"
    )
    add_neighbour_argument(calibrate)
    calibrate.set_defaults(handler=calibrate_command)
    experiment.register(subparsers)


@dataclass(frozen=True)
class GateCommandOptions:
    """The gate's options, and where its report and telemetry go."""

    gate: GateOptions
    out: Path
    telemetry: TelemetryConfig


def gate_options(args: argparse.Namespace) -> GateCommandOptions:
    """The gate's typed options; a bad telemetry address or gate.toml fails here, before the measuring."""
    telemetry = telemetry_config(args)
    gate = GateOptions(
        repo=Path.cwd(),
        against=args.against,
        baseline=args.baseline,
        ratios_only=args.ratios_only,
        instructions=args.instructions,
        mode=mode_of(args),
        only=only_of(args),
        plan=measure_plan(args),
        config=gate_config(args),
        calibration=args.calibration,
        use_calibration=not args.no_calibration,
        scratch=args.scratch,
        gate_dir=args.gate_dir,
        rebuild_candidate=not args.no_rebuild,
        lock_wait_s=args.lock_timeout,
        profile_dir=args.out / "profiles",
        suspect_instructions=SuspectInstructions(args.suspect_instructions),
        stage2=stage2_looks(args),
        floor_drift=not args.no_floor_drift,
    )
    return GateCommandOptions(gate=gate, out=args.out, telemetry=telemetry)


def gate_command(arguments: argparse.Namespace) -> int:
    """Runs the gate; every fault of the tool or the input is one line on stderr and exit 2."""
    try:
        return gate_and_publish(gate_options(arguments))
    except (GateUsageError, RefError, ConfigError, UnknownNameError, ValueError) as error:  # bad address too
        _fail("usage error", error)
    except (GateToolError, InstructionCountError, WorkerError, OSError) as error:
        _fail("tool error", error)
    except BuildError as error:  # every BuildError is turned into a report; one escaping is the tool's bug
        _fail("tool error", error)
    return ExitCode.USAGE_OR_TOOL_ERROR


def gate_and_publish(options: GateCommandOptions) -> int:
    """Run the gate, print its table, write its folder, send its run; the gate's exit code."""
    started_at_unix_s = time.time()
    report = run_gate(options.gate, progress=_say)
    print(format_table(report))
    if report.floor_drift is not None:
        for line in warning_lines(report.floor_drift):
            print(f"gate: {line}", file=sys.stderr)
    for path in write_outputs(report, options.out):
        print(f"wrote {path}")
    run = gate_run(
        report,
        suite=str(options.gate.mode),
        environment=report.environment,  # collected once, by run_gate
        started_at_unix_s=started_at_unix_s,
    )
    delivery = send_gate_run(run, options.out, options.telemetry)  # a server down is reported, never raised
    for sink in delivery.sinks:
        if sink.delivered and sink.sink == TEXTFILE:
            print(f"wrote {options.out / sink.target}")
        elif sink.delivered:
            print(f"sent to {sink.sink} {sink.target}")
    return int(report.exit_code)


def _fail(kind: str, error: BaseException) -> None:
    """One line, whatever the error's text holds (build logs, git's stderr)."""
    text = " ".join(str(error).split()) or type(error).__name__
    print(f"gate: {kind}: {text[:_MESSAGE_LIMIT]}", file=sys.stderr)


@dataclass(frozen=True)
class CalibrateOptions:
    runs: int
    mode: Mode
    only: tuple[str, ...]
    plan: MeasurePlan  # memory is not part of a calibration
    config: Path
    scratch: Path
    out: Path | None  # None: reports/calibration/<fingerprint>.json
    neighbour: NeighbourKind = NeighbourKind.NONE  # what runs beside the A/A runs (recorded in the file)


def calibrate_command(arguments: argparse.Namespace) -> int:
    options = CalibrateOptions(
        runs=arguments.runs,
        mode=mode_of(arguments),
        only=only_of(arguments),
        plan=replace(measure_plan(arguments), memory_calls=0),
        config=arguments.config,
        scratch=arguments.scratch,
        out=arguments.out,
        neighbour=NeighbourKind(arguments.neighbour),
    )
    try:
        return calibrate(options)
    except (ConfigError, UnknownNameError, ValueError) as error:
        print(f"calibrate: usage error: {error}", file=sys.stderr)
    except (BuildError, GateToolError, WorkerError, NeighbourError, OSError) as error:
        print(f"calibrate: tool error: {error}", file=sys.stderr)
    return ExitCode.USAGE_OR_TOOL_ERROR


def calibrate(options: CalibrateOptions) -> int:
    """A/A runs of the working tree's build; the calibration file written and its table printed."""
    repo = repo_root(Path.cwd())
    ensure_fresh_candidate(repo, progress=_say)  # calibrate the tree's build, not an older one
    fingerprint = machine_fingerprint_here(repo)
    with running_neighbour(options.neighbour, neighbour_scratch(options.scratch)) as neighbour:
        calibration = run_calibration(
            candidate_build(repo),
            targets_for(options.mode, options.only),
            options.plan,
            runs=options.runs,
            fingerprint=fingerprint,
            scratch=options.scratch.resolve(),
            policy=load_config(options.config).policy,
            progress=_say,
        )
    calibration = replace(calibration, neighbour=neighbour.record)
    path = options.out or repo / calibration_path(fingerprint)
    save_calibration(calibration, path)
    print(calibration_table(calibration))
    print(f"wrote {path}")
    return ExitCode.NO_REGRESSION


def _say(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)
