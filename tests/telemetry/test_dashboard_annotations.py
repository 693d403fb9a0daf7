"""What the dashboards' annotation queries return, checked offline by ``promtool test rules``.

The input series are what the Pushgateway serves after gate runs of each outcome, a bench run, and the
change-point gauges ``history`` writes; the expected samples are the annotations Grafana would draw.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.results import GateOutcome
from harness.telemetry import metrics as m

from .test_rules_and_dashboards import annotation_queries, run_promtool

GATE_JOB = "skybench-gate"
RUN_START_S = 1_700_000_000  # times 1000 is exact in a double
# (machine, suite, run id, the outcomes of its comparisons): one gate run per Pushgateway group.
GATE_RUNS = (
    ("m1", "quick", "gate-regressed", (GateOutcome.REGRESSION, GateOutcome.PASS)),
    ("m1", "default", "gate-passed", (GateOutcome.PASS, GateOutcome.IMPROVEMENT)),
    ("m2", "quick", "gate-unjudged", (GateOutcome.CANNOT_JUDGE,)),
    ("m3", "quick", "gate-empty", ()),
)
EXPECTED_OUTCOME = {
    "gate-regressed": "regression",
    "gate-passed": "pass",
    "gate-unjudged": "cannot judge",
    "gate-empty": "cannot judge",
}
# (machine, function, direction, unix time of the first run after the step)
CHANGE_POINTS = (
    ("m1", "base36_encode", "regression", 1_690_000_000),
    ("m1", "hash_file", "improvement", 1_690_000_600),
    ("m2", "base36_encode", "regression", 1_690_001_200),
)


def labels(**values: str) -> str:
    return "{" + ", ".join(f'{name}="{value}"' for name, value in sorted(values.items())) + "}"


def constant(name: str, value: float, **label_values: str) -> dict[str, str]:
    return {"series": name + labels(**label_values), "values": f"{value}x5"}


def run_series(group: dict[str, str], run_id: str, kind: str, start_s: int) -> list[dict[str, str]]:
    info = {**group, "run_id": run_id, "git_commit": f"commit-{run_id}", "kind": kind, "mode": group["suite"]}
    return [constant(m.RUN_TIMESTAMP, start_s, **group), constant(f"{m.RUN_INFO}_info", 1, **info)]


def gate_outcome_series(machine: str, suite: str, outcomes: tuple[GateOutcome, ...]) -> list[dict[str, str]]:
    """The 0/1 state set of each comparison, as ``RunCollector`` exposes it."""
    series = []
    for index, outcome in enumerate(outcomes):
        pair = {"function": f"f{index}", "impl": "rust", "workload": "small", "metric": "time"}
        group = {"job": GATE_JOB, "machine": machine, "suite": suite}
        for candidate in GateOutcome:
            value = int(candidate == outcome)
            series.append(constant(m.GATE_OUTCOME, value, **group, **pair, outcome=str(candidate)))
    return series


def input_series() -> list[dict[str, str]]:
    bench = {"job": "skybench", "machine": "m1", "suite": "quick"}
    series = run_series(bench, "bench-1", "bench", RUN_START_S - 60)  # not a gate run
    for index, (machine, suite, run_id, outcomes) in enumerate(GATE_RUNS):
        group = {"job": GATE_JOB, "machine": machine, "suite": suite}
        series += run_series(group, run_id, "gate", RUN_START_S + index)
        series += gate_outcome_series(machine, suite, outcomes)
    for machine, function, direction, at_s in CHANGE_POINTS:
        series.append(
            constant(
                m.CHANGE_POINT_TIMESTAMP,
                at_s,
                job="skybench-history",
                machine=machine,
                function=function,
                impl="python",
                workload="small",
                direction=direction,
                source="runs",
            )
        )
    return series


def expected_gate_runs(machines: set[str]) -> list[dict[str, object]]:
    samples: list[dict[str, object]] = []
    for index, (machine, suite, run_id, _) in enumerate(GATE_RUNS):
        if machine in machines:
            sample_labels = labels(
                job=GATE_JOB,
                machine=machine,
                suite=suite,
                run_id=run_id,
                git_commit=f"commit-{run_id}",
                outcome=EXPECTED_OUTCOME[run_id],
            )
            samples.append({"labels": sample_labels, "value": (RUN_START_S + index) * 1000})
    return samples


def expected_change_points(machine: str, function: str | None) -> list[dict[str, object]]:
    return [
        {
            "labels": labels(
                job="skybench-history",
                machine=machine,
                function=cp_function,
                impl="python",
                workload="small",
                direction=direction,
                source="runs",
            ),
            "value": at_s * 1000,
        }
        for cp_machine, cp_function, direction, at_s in CHANGE_POINTS
        if cp_machine == machine and function in (None, cp_function)
    ]


def promtool_test(tmp_path: Path, tests: list[dict[str, object]]) -> None:
    rules = tmp_path / "no-rules.yml"
    rules.write_text(json.dumps({"groups": []}))
    test_file = tmp_path / "annotations.test.yml"
    test_file.write_text(
        json.dumps(
            {
                "rule_files": [rules.name],
                "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": input_series(), "promql_expr_test": tests}],
            }
        )
    )
    result = run_promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_gate_runs_annotation_marks_each_gate_run_with_its_outcome(tmp_path: Path) -> None:
    tests: list[dict[str, object]] = []
    for machine_value, machines in ((".*", {"m1", "m2", "m3"}), ("m1", {"m1"})):
        values = {"$machine": machine_value, "$suite": ".*", "$function": "base36_encode"}
        for _, name, expr in annotation_queries(values):
            if name == "Gate runs":
                tests.append({"expr": expr, "eval_time": "2m", "exp_samples": expected_gate_runs(machines)})
    assert len(tests) == 4  # two dashboards, two machine selections
    promtool_test(tmp_path, tests)


def test_change_points_annotation_follows_the_machine_and_function_variables(tmp_path: Path) -> None:
    values = {"$machine": "m1", "$suite": ".*", "$function": "base36_encode"}
    expected = {
        "skybench-overview": expected_change_points("m1", None),
        "skybench-function": expected_change_points("m1", "base36_encode"),
    }
    tests: list[dict[str, object]] = [
        {"expr": expr, "eval_time": "2m", "exp_samples": expected[uid]}
        for uid, name, expr in annotation_queries(values)
        if name == "Change points"
    ]
    assert len(tests) == 2 and [len(samples) for samples in expected.values()] == [2, 1]
    promtool_test(tmp_path, tests)
