"""The experiment's interference flags reach the plan; the defaults keep the measured plan unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.commands.experiment import experiment_options
from harness.gate.experiment.outputs import results_markdown, settings_summary
from harness.gate.experiment.runs import suite_label
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


@pytest.mark.parametrize(("flag", "value"), [("--order", "shuffled"), ("--min-effect", "1.5")])
def test_a_bad_value_is_a_usage_error_naming_its_flag(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["experiment", flag, value])
    assert stopped.value.code == 2
    assert flag in capsys.readouterr().err


def test_the_policy_flags_override_gate_toml_as_the_gate_does(tmp_path: Path) -> None:
    shipped = build_parser().parse_args(["experiment"])
    lowered = build_parser().parse_args(["experiment", "--min-effect", "0.03", "--alpha", "0.01"])
    shipped_policy = experiment_options(shipped, REPO, tmp_path).config.policy
    lowered_policy = experiment_options(lowered, REPO, tmp_path).config.policy
    assert shipped_policy.min_effect == 0.05  # gate.toml's
    assert (lowered_policy.min_effect, lowered_policy.alpha) == (0.03, 0.01)
    assert lowered_policy.correction == shipped_policy.correction  # what no flag names stays gate.toml's


def test_the_results_name_the_settings_every_run_used(tmp_path: Path) -> None:
    flags = [
        "experiment",
        "--min-effect",
        "0.03",
        "--no-calibration",
        "--stage2-looks",
        "3",
        "--stage2-budget",
        "120",
    ]
    options = experiment_options(build_parser().parse_args(flags), REPO, tmp_path)
    assert settings_summary(options) == (
        "Gate settings: default mode, minimum effect 3.0%, alpha 0.05 (holm), stage 2 up to 3 look(s), "
        "no look after 120 s, calibration none, python side slowed."
    )
    markdown = results_markdown([], "test machine", settings=settings_summary(options))
    assert "minimum effect 3.0%" in markdown.splitlines()[2]


def test_an_aa_row_names_the_functions_only_kept(tmp_path: Path) -> None:
    def label(*flags: str) -> str:
        return suite_label(
            experiment_options(build_parser().parse_args(["experiment", *flags]), REPO, tmp_path)
        )

    assert label() == "(whole suite)"
    assert label("--only", "format_float", "--only", "get_cpu_count") == "(format_float, get_cpu_count)"
    # the targets' functions are gated too, so they are named
    assert label("--only", "hash_file") == "(hash_file, format_float, get_cpu_count)"
