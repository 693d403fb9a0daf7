"""``gate``, ``calibrate`` and ``experiment`` subcommands: argument parsing over plain functions.

Exit codes (docs/gate.md): 0 no regression, 1 regression, 2 usage or tool error, 3 cannot judge.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from harness.gate.build import BuildError, RefError, candidate_build, repo_root
from harness.gate.calibrate import (
    calibration_path,
    calibration_table,
    run_calibration,
    save_calibration,
)
from harness.gate.compare import GatePolicy
from harness.gate.config import ConfigError, GateConfig, load_config
from harness.gate.experiment import register_experiment
from harness.gate.gate import GateOptions, machine_fingerprint_here, run_gate, targets_for
from harness.gate.instructions import InstructionCountError
from harness.gate.lock import DEFAULT_LOCK_WAIT_S
from harness.gate.options import add_measure_arguments, mode_of, plan_of
from harness.gate.outcome import ExitCode, GateToolError, GateUsageError
from harness.gate.outputs import format_table, write_outputs
from harness.gate.source_digest import ensure_fresh_candidate
from harness.gate.telemetry import gate_run, send_gate_run
from harness.neighbour import NeighbourError, add_neighbour_argument, neighbour_scratch, running_neighbour
from harness.registry import UnknownNameError
from harness.telemetry.cli import add_telemetry_arguments, config_from_args
from harness.telemetry.delivery import TEXTFILE
from harness.worker_client import WorkerError

DEFAULT_OUT = Path("reports/gate")
_MESSAGE_LIMIT = 600  # characters of an error message shown on its one line
_MAX_LOCK_WAIT_S = 24 * 3600.0

Subparsers = argparse._SubParsersAction  # the type argparse gives add_subparsers()


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _lock_wait(text: str) -> float:
    value = float(text)
    if not 0 <= value <= _MAX_LOCK_WAIT_S:
        raise argparse.ArgumentTypeError(f"must be between 0 and {_MAX_LOCK_WAIT_S:g} seconds, got {text}")
    return value


def config_of(arguments: argparse.Namespace) -> GateConfig:
    config = load_config(arguments.config)
    overrides = {
        name: getattr(arguments, name)
        for name in ("alpha", "min_effect", "correction")
        if getattr(arguments, name, None) is not None
    }
    return replace(config, policy=replace(config.policy, **overrides)) if overrides else config


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
        type=_lock_wait,
        default=DEFAULT_LOCK_WAIT_S,
        metavar="SECONDS",
        help="wait this long for another gate using the same gate dir, then exit 2 (default: %(default)g)",
    )


def register(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
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
    add_measure_arguments(gate)
    gate.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    gate.add_argument("--alpha", type=_fraction, help="false-alarm rate over the suite (default: gate.toml)")
    gate.add_argument("--min-effect", type=_fraction, help="smallest timing change that fails, e.g. 0.05")
    gate.add_argument("--correction", choices=("holm", "bh"), help="multiple-comparison correction")
    gate.add_argument("--calibration", type=Path, help="calibration file (default: this machine's, if any)")
    gate.add_argument("--no-calibration", action="store_true", help="ignore calibrated noise floors")
    _add_integrity_arguments(gate)
    add_telemetry_arguments(gate)
    gate.set_defaults(handler=gate_command)

    calibrate = subparsers.add_parser(
        "calibrate",
        help="A/A runs: noise floor and smallest detectable slowdown per comparison on this machine",
        description="Run the working tree against itself (separate processes, interleaved) several times "
        "and save reports/calibration/<machine fingerprint>.json, which the gate then uses.",
    )
    calibrate.add_argument("--runs", type=int, default=5, help="A/A runs (default: %(default)s)")
    add_measure_arguments(calibrate)
    calibrate.add_argument(
        "--out", type=Path, help="calibration file (default: reports/calibration/<fp>.json)"
    )
    add_neighbour_argument(calibrate)  # noisy neighbour (issue 13)
    calibrate.set_defaults(handler=calibrate_command)

    register_experiment(subparsers)


def gate_command(arguments: argparse.Namespace) -> int:
    """Runs the gate; every fault of the tool or the input is one line on stderr and exit 2."""
    try:
        return _gate(arguments)
    except (GateUsageError, RefError, ConfigError, UnknownNameError, ValueError) as error:  # bad address too
        _fail("usage error", error)
    except (GateToolError, InstructionCountError, WorkerError, OSError) as error:
        _fail("tool error", error)
    except BuildError as error:  # every BuildError is turned into a report; one escaping is the tool's bug
        _fail("tool error", error)
    return ExitCode.USAGE_OR_TOOL_ERROR


def _gate(arguments: argparse.Namespace) -> int:
    started_at_unix_s = time.time()
    telemetry = config_from_args(arguments)  # a bad address fails now, not after the measuring
    options = GateOptions(
        repo=Path.cwd(),
        against=arguments.against,
        baseline=arguments.baseline,
        ratios_only=arguments.ratios_only,
        instructions=arguments.instructions,
        mode=mode_of(arguments),
        only=tuple(arguments.only or ()),
        plan=plan_of(arguments),
        config=config_of(arguments),
        calibration=arguments.calibration,
        use_calibration=not arguments.no_calibration,
        scratch=arguments.scratch,
        gate_dir=arguments.gate_dir,
        rebuild_candidate=not arguments.no_rebuild,
        lock_wait_s=arguments.lock_timeout,
        profile_dir=arguments.out / "profiles",
    )
    report = run_gate(options, progress=_say)
    print(format_table(report))
    for path in write_outputs(report, arguments.out):
        print(f"wrote {path}")
    run = gate_run(
        report,
        suite=str(options.mode),
        environment=report.environment,  # collected once, by run_gate
        started_at_unix_s=started_at_unix_s,
    )
    delivery = send_gate_run(run, arguments.out, telemetry)  # a server that is down is reported, never raised
    for sink in delivery.sinks:
        if sink.delivered and sink.sink == TEXTFILE:
            print(f"wrote {arguments.out / sink.target}")
        elif sink.delivered:
            print(f"sent to {sink.sink} {sink.target}")
    return int(report.exit_code)


def _fail(kind: str, error: BaseException) -> None:
    """One line, whatever the error's text holds (build logs, git's stderr)."""
    text = " ".join(str(error).split()) or type(error).__name__
    print(f"gate: {kind}: {text[:_MESSAGE_LIMIT]}", file=sys.stderr)


def calibrate_command(arguments: argparse.Namespace) -> int:
    if arguments.runs < 2:
        print("calibrate: usage error: --runs must be >= 2", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    try:
        repo = repo_root(Path.cwd())
        ensure_fresh_candidate(repo, progress=_say)  # calibrate the tree's build, not an older one
        fingerprint = machine_fingerprint_here(repo)
        policy: GatePolicy = load_config(arguments.config).policy
        # noisy neighbour (issue 13): runs beside the A/A runs, its record goes into the file
        with running_neighbour(arguments.neighbour, neighbour_scratch(arguments.scratch)) as neighbour:
            calibration = run_calibration(
                candidate_build(repo),
                targets_for(mode_of(arguments), tuple(arguments.only or ())),
                replace(plan_of(arguments), memory_calls=0),
                runs=arguments.runs,
                fingerprint=fingerprint,
                scratch=arguments.scratch.resolve(),
                policy=policy,
                progress=_say,
            )
        calibration = replace(calibration, neighbour=neighbour.record)
    except (ConfigError, UnknownNameError, ValueError) as error:
        print(f"calibrate: usage error: {error}", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    except (BuildError, GateToolError, WorkerError, NeighbourError, OSError) as error:
        print(f"calibrate: tool error: {error}", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    path = arguments.out or repo / calibration_path(fingerprint)
    save_calibration(calibration, path)
    print(calibration_table(calibration))
    print(f"wrote {path}")
    return ExitCode.NO_REGRESSION


def _say(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)
