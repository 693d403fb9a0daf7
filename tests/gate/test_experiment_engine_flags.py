"""The experiment's interference flags reach the plan; the defaults keep the measured plan unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.commands.experiment import experiment_options
from harness.measure.engine import RoundStatistic, SideOrder

REPO = Path(__file__).resolve().parents[2]


def _plan_fields(tmp_path: Path, *flags: str) -> tuple[SideOrder, bool, RoundStatistic]:
    arguments = build_parser().parse_args(["experiment", "--quick", *flags])
    plan = experiment_options(arguments, REPO, tmp_path).plan
    return plan.side_order, plan.affinity, plan.round_statistic


def test_defaults_are_the_alternation_no_affinity_and_the_median(tmp_path: Path) -> None:
    assert _plan_fields(tmp_path) == (SideOrder.ALTERNATE, False, RoundStatistic.MEDIAN)


def test_each_flag_sets_its_field(tmp_path: Path) -> None:
    flags = ("--order", "random", "--affinity", "--round-statistic", "min")
    assert _plan_fields(tmp_path, *flags) == (SideOrder.RANDOM, True, RoundStatistic.MIN)


def test_an_unknown_order_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["experiment", "--order", "shuffled"])
    assert stopped.value.code == 2
    assert "--order" in capsys.readouterr().err
