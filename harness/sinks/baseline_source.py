"""Whether a finished run may become a baseline (``skybench baseline --from-run RUN_DIR``).

``make baseline`` measures afresh, so what it records is whole by construction. A run recorded later must
be what that command would have measured, or the gate compares against a partial or differently measured
baseline without knowing it: a bench run (not a gate's or an experiment's), not interrupted, with every
workload of its mode of the default modules' pairs timed or listed as not comparable, the fallback timed as
the third side, and each pair's rounds within the bench plan of its mode (the bench's tuning flags change
them; a run does not record its plan, but its round counts show a plan the mode's would not give).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from harness.functions.pairs.workload_types import Mode
from harness.functions.registry import Pair
from harness.inputs import InputFileError
from harness.measure.engine import Purpose, plan_for
from harness.results import RunKind, RunResult


class BaselineSourceError(InputFileError):
    """The run cannot be recorded as a baseline; the message says why."""


def check_recordable(run: RunResult, registry: Mapping[str, Pair], run_dir: Path) -> None:
    """Raise ``BaselineSourceError`` naming the first reason ``run`` is not a baseline ``make baseline``
    would have recorded."""
    where = f"{run_dir}: run {run.run_id}"
    if run.kind != RunKind.BENCH:
        raise BaselineSourceError(f"{where} is a {run.kind} run, not a bench run")
    if run.interrupted:
        raise BaselineSourceError(f"{where} was interrupted: only a whole run is a baseline")
    try:
        mode = Mode(run.mode)
    except ValueError:
        raise BaselineSourceError(f"{where} has an unknown mode {run.mode!r}") from None
    _check_workloads(run, registry, mode, where)
    _check_rounds(run, mode, where)


def _check_workloads(run: RunResult, registry: Mapping[str, Pair], mode: Mode, where: str) -> None:
    measured = {(pair.function, pair.workload) for pair in run.pairs}
    listed = measured | {(entry.function, entry.workload) for entry in run.not_comparable}
    expected = {
        (name, workload.id) for name, pair in registry.items() for workload in pair.workloads_for(mode)
    }
    missing = sorted(expected - listed)
    if missing:
        shown = ", ".join(f"{function}/{workload}" for function, workload in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise BaselineSourceError(
            f"{where} lacks {len(missing)} workload(s) of the {mode} mode ({shown}{more}): "
            "a run of --only, --pairs or other modules is not a baseline"
        )
    foreign = sorted(measured - expected)
    if foreign:
        function, workload = foreign[0]
        raise BaselineSourceError(f"{where} timed {function}/{workload}, which is not a default-module pair")
    untimed = sorted(f"{pair.function}/{pair.workload}" for pair in run.pairs if pair.fallback is None)
    if untimed:
        raise BaselineSourceError(
            f"{where} did not time the fallback on {untimed[0]} (a format older than 3?)"
        )


def _check_rounds(run: RunResult, mode: Mode, where: str) -> None:
    plan = plan_for(Purpose.BENCH, mode)
    for pair in run.pairs:
        rounds = len(pair.rust.values_ns)
        if not plan.min_rounds <= rounds <= plan.max_rounds:
            raise BaselineSourceError(
                f"{where}: {pair.function}/{pair.workload} has {rounds} rounds, outside the {mode} bench "
                f"plan's {plan.min_rounds}-{plan.max_rounds}: a run with tuned rounds is not a baseline"
            )
