"""The one set of argument helpers and validators the commands share.

Validators are argparse ``type=`` callables: a bad value is an ``ArgumentTypeError``, which the parser
turns into one line and exit 2. The bounds catch a slip of the keyboard (inf, nan, 1e9), not a policy.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.functions.pairs.workload_types import DEFAULT_SCRATCH, Mode
from harness.telemetry.config import (
    DEFAULT_SEND_TIMEOUT_SECONDS,
    ENV_PUSHGATEWAY,
    ENV_STATSD,
    ENV_STATSD_PREFIX,
    MAX_SEND_TIMEOUT_SECONDS,
    MIN_SEND_TIMEOUT_SECONDS,
    TelemetryConfig,
    check_send_timeout,
    resolve_config,
)

if TYPE_CHECKING:
    from harness.gate.config import GateConfig
    from harness.gate.looks import Stage2Looks
    from harness.measure.engine import MeasurePlan

Subparsers = argparse._SubParsersAction  # the type argparse gives add_subparsers()


def bounded_int(*, low: int, high: int | None = None) -> Callable[[str], int]:
    """A whole number >= ``low`` (and <= ``high`` if given)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from error
        if value < low or (high is not None and value > high):
            bound = f" and <= {high}" if high is not None else ""
            raise argparse.ArgumentTypeError(f"must be >= {low}{bound}, got {text}")
        return value

    return parse


def bounded_float(
    *, low: float, high: float, low_inclusive: bool = False, high_inclusive: bool = True
) -> Callable[[str], float]:
    """A number between ``low`` and ``high``; nan is refused, and inf unless ``high`` is inf and included."""
    low_sign, high_sign = (">=" if low_inclusive else ">"), ("<=" if high_inclusive else "<")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from error
        above = value >= low if low_inclusive else value > low
        below = value <= high if high_inclusive else value < high
        if not (above and below):  # both False for nan
            upper = "" if math.isinf(high) and not high_inclusive else f" and {high_sign} {high:g}"
            raise argparse.ArgumentTypeError(f"must be {low_sign} {low:g}{upper} (finite), got {text}")
        return value

    return parse


positive_int = bounded_int(low=1)
rounds_count = bounded_int(low=2)  # a paired comparison needs two rounds
non_negative_int = bounded_int(low=0)
positive_finite_float = bounded_float(low=0.0, high=math.inf, high_inclusive=False)
fraction_below_one = bounded_float(low=0.0, high=1.0, low_inclusive=True, high_inclusive=False)


def comma_separated(parse_one: Callable[[str], float]) -> Callable[[str], tuple[float, ...]]:
    """A comma-separated list of values, each checked by ``parse_one``."""

    def parse(text: str) -> tuple[float, ...]:
        parts = [part for part in text.split(",") if part.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"expected comma-separated values, got {text!r}")
        return tuple(parse_one(part) for part in parts)

    return parse


def add_mode_arguments(
    parser: argparse.ArgumentParser, *, quick_help: str, full_help: str, only_help: str
) -> None:
    """``--quick`` / ``--full`` (exclusive), ``--only FUNCTION``, ``--pairs MODULE``: measuring commands."""
    from harness.commands.pairs import add_pairs_argument  # noqa: PLC0415  (as FUNCTIONS below)
    from harness.functions.registry import FUNCTIONS  # noqa: PLC0415  (kept out of `--help` of other commands)

    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=quick_help)
    size.add_argument("--full", action="store_true", help=full_help)
    parser.add_argument(
        "--only",
        action="append",
        choices=FUNCTIONS,
        metavar="FUNCTION",
        help=only_help + "%(choices)s",  # the registry's names when help is shown (--pairs ones included)
    )
    add_pairs_argument(parser)


def mode_of(args: argparse.Namespace) -> Mode:
    """The mode ``add_mode_arguments``' flags chose."""
    return Mode.QUICK if args.quick else Mode.FULL if args.full else Mode.DEFAULT


def only_of(args: argparse.Namespace) -> tuple[str, ...]:
    """The functions of ``--only`` (empty: all of them)."""
    return tuple(args.only or ())


def add_scratch_argument(parser: argparse.ArgumentParser, *, show_default: bool) -> None:
    """``--scratch DIR``: the workload data folder every measuring command uses."""
    suffix = " (default: %(default)s)" if show_default else ""
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, help=f"workload data folder{suffix}")


def add_measure_arguments(parser: argparse.ArgumentParser) -> None:
    """What to measure and how hard: shared by ``gate``, ``calibrate`` and ``experiment``."""
    from harness.gate.config import DEFAULT_CONFIG  # noqa: PLC0415  (the gate's modules: its commands only)

    add_mode_arguments(
        parser,
        quick_help="the CI gate's workloads and rounds",
        full_help="every workload, more rounds",
        only_help="only this function (repeatable); one of: ",
    )
    parser.add_argument("--rounds", type=rounds_count, help="interleaved rounds (default: by --quick/--full)")
    parser.add_argument("--no-memory", action="store_true", help="skip the allocation comparison")
    add_scratch_argument(parser, show_default=False)
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="gate settings (default: %(default)s)"
    )


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """``--alpha``, ``--min-effect``, ``--correction``: ``gate.toml``'s policy overridden for one command
    (``gate``, ``experiment``: an experiment measures the policy the gate would run with)."""
    parser.add_argument(
        "--alpha", type=fraction_below_one, help="false-alarm rate over the suite (default: gate.toml)"
    )
    parser.add_argument(
        "--min-effect",
        type=fraction_below_one,
        help="smallest timing change that fails, e.g. 0.05 (default: gate.toml)",
    )
    parser.add_argument("--correction", choices=("holm", "bh"), help="multiple-comparison correction")


def gate_config(args: argparse.Namespace) -> GateConfig:
    """``--config``'s gate.toml with the policy flags of ``add_policy_arguments`` applied over it."""
    from harness.gate.config import load_config  # noqa: PLC0415

    config = load_config(args.config)
    overrides = {
        name: value
        for name, value in (
            ("alpha", args.alpha),
            ("min_effect", args.min_effect),
            ("correction", args.correction),
        )
        if value is not None
    }
    return replace(config, policy=replace(config.policy, **overrides)) if overrides else config


def measure_plan(args: argparse.Namespace) -> MeasurePlan:
    """The plan ``add_measure_arguments``' flags ask for."""
    from harness.gate.options import plan_of  # noqa: PLC0415

    return plan_of(mode_of(args), rounds=args.rounds, memory=not args.no_memory)


def add_stage2_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stage2-looks K`` and ``--stage2-budget SECONDS``: the sequential stage 2 (``gate``, ``experiment``;
    ``calibrate`` runs no stage 2)."""
    from harness.gate.looks import MAX_LOOKS  # noqa: PLC0415  (the gate's modules: its commands only)

    parser.add_argument(
        "--stage2-looks",
        type=bounded_int(low=1, high=MAX_LOOKS),
        default=1,
        metavar="K",
        help="stage 2 takes up to K looks, each adding fresh rounds to the suspects neither confirmed nor "
        "cleared, Bonferroni over the K looks (default: %(default)s, the fixed stage 2)",
    )
    parser.add_argument(
        "--stage2-budget",
        type=positive_finite_float,
        metavar="SECONDS",
        help="start no further look of stage 2 once this many seconds of it are spent (default: none)",
    )


def stage2_looks(args: argparse.Namespace) -> Stage2Looks:
    """The stage 2 ``add_stage2_arguments``' flags ask for."""
    from harness.gate.looks import Stage2Looks  # noqa: PLC0415

    return Stage2Looks(looks=args.stage2_looks, budget_s=args.stage2_budget)


def _send_timeout_seconds(text: str) -> float:
    """``--telemetry-timeout``: seconds, bounded (nan, inf and 1e10 would overflow a socket timeout)."""
    try:
        return check_send_timeout(float(text), "--telemetry-timeout")
    except ValueError as error:  # float()'s own, or TelemetryConfigError
        raise argparse.ArgumentTypeError(
            f"expected {MIN_SEND_TIMEOUT_SECONDS:g} to {MAX_SEND_TIMEOUT_SECONDS:g} seconds, got {text!r}"
        ) from error


def add_telemetry_arguments(parser: argparse.ArgumentParser) -> None:
    """The sink flags, for every command that sends a run (``bench``, ``baseline``, ``gate``, ``publish``)."""
    group = parser.add_argument_group("telemetry (flag > environment > [tool.skybench] in pyproject.toml)")
    group.add_argument(
        "--pushgateway",
        metavar="HOST:PORT",
        help=f"push the run to this Prometheus Pushgateway (${ENV_PUSHGATEWAY})",
    )
    group.add_argument(
        "--statsd", metavar="HOST:PORT", help=f"send gauges to this StatsD server (${ENV_STATSD})"
    )
    group.add_argument("--statsd-prefix", metavar="PREFIX", help=f"StatsD name prefix (${ENV_STATSD_PREFIX})")
    group.add_argument(
        "--no-push",
        action="store_true",
        help="send to no server (metrics.prom is still written to the run folder)",
    )
    group.add_argument(
        "--telemetry-timeout",
        metavar="SECONDS",
        type=_send_timeout_seconds,
        default=DEFAULT_SEND_TIMEOUT_SECONDS,
        help=f"bound on each network send, {MIN_SEND_TIMEOUT_SECONDS:g} to {MAX_SEND_TIMEOUT_SECONDS:g} "
        "(default: %(default)s)",
    )


def telemetry_config(args: argparse.Namespace) -> TelemetryConfig:
    """The telemetry settings of a parsed command line (raises TelemetryConfigError on a bad address)."""
    return resolve_config(
        pushgateway_flag=args.pushgateway,
        statsd_flag=args.statsd,
        statsd_prefix_flag=args.statsd_prefix,
        no_push=args.no_push,
        send_timeout_seconds=args.telemetry_timeout,
    )


def add_neighbour_argument(parser: argparse.ArgumentParser) -> None:
    """``--neighbour {none,cpu,memory,bench}`` (default none) on a measuring command's parser."""
    from harness.measure.neighbour import NeighbourKind  # noqa: PLC0415  (psutil: not for other commands)

    parser.add_argument(
        "--neighbour",
        choices=[str(kind) for kind in NeighbourKind],
        default=str(NeighbourKind.NONE),
        help="run a noisy neighbour beside the measuring: cpu (stress-ng --cpu 1), memory (stress-ng "
        "--stream 1), bench (a quick skybench loop); recorded with the load average (default: %(default)s)",
    )
