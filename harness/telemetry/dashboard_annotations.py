"""The dashboards' annotation queries on the Prometheus datasource: gate runs and change points.

Both use Grafana's Prometheus option "series value as timestamp" (``useValueForTime``): the series' value, in
milliseconds, places the annotation, and its labels fill the title, text and tags. A Pushgateway group keeps
serving its last push, so every scrape repeats the same value; Grafana merges repeats of one value into one
annotation, so there is one per gate run and one per change point.
"""

from __future__ import annotations

from typing import Self

from grafana_foundation_sdk.builders import dashboard as board_builders
from grafana_foundation_sdk.models import dashboard as board_models

from harness.results import GateOutcome, RunKind
from harness.telemetry import metrics as m

DATASOURCE = board_models.DataSourceRef(type_val="prometheus", uid="skybench-prometheus")
# Grafana's default for Prometheus annotations; samples of one value closer than this make one annotation.
ANNOTATION_STEP = "60s"
# A gate run's Pushgateway group: every series one push sent carries these labels.
GATE_GROUP = "job, machine, suite"
# The run's outcome as the gate's exit code reads it (harness.gate.outcome.exit_code_for), worst first:
# the label value, and which comparison outcomes give it (None: any run not matched above).
GATE_RUN_OUTCOMES: tuple[tuple[str, tuple[GateOutcome, ...] | None], ...] = (
    ("regression", (GateOutcome.REGRESSION,)),
    ("pass", (GateOutcome.PASS, GateOutcome.IMPROVEMENT)),
    ("cannot judge", None),
)


class PrometheusAnnotationModel(board_models.AnnotationQuery):
    """``AnnotationQuery`` plus the Prometheus datasource's own fields, which the SDK's schema leaves out:
    Grafana keeps them beside the schema's (its Prometheus ``prepareAnnotation`` and ``processEvents``)."""

    def __init__(self) -> None:
        super().__init__(enable=True, hide=False)
        self.step = ANNOTATION_STEP
        self.title_format = ""
        self.text_format = ""
        self.tag_keys: list[str] = []
        self.use_value_for_time = False

    def to_json(self) -> dict[str, object]:
        return {
            **super().to_json(),
            "step": self.step,
            "titleFormat": self.title_format,
            "textFormat": self.text_format,
            "tagKeys": ",".join(self.tag_keys),
            "useValueForTime": self.use_value_for_time,
        }


class PrometheusAnnotation(board_builders.AnnotationQuery):
    """The SDK's annotation builder with setters for the Prometheus fields."""

    _internal: PrometheusAnnotationModel

    def __init__(self, name: str) -> None:
        self._internal = PrometheusAnnotationModel()
        self.name(name).datasource(DATASOURCE)

    def title_format(self, template: str) -> Self:
        """Title of each annotation, ``{{label}}`` replaced by the series' label."""
        self._internal.title_format = template
        return self

    def text_format(self, template: str) -> Self:
        self._internal.text_format = template
        return self

    def tag_keys(self, labels: list[str]) -> Self:
        """Labels whose values become the annotation's tags."""
        self._internal.tag_keys = labels
        return self

    def value_as_timestamp_ms(self) -> Self:
        """Place each annotation at the series' value, a unix time in milliseconds."""
        self._internal.use_value_for_time = True
        return self


def gate_run_times_ms(run_filter: str) -> str:
    """Each gate run's start (ms), labelled with its run id and commit from ``skybench_run_info``.

    The join on the info series keeps gate runs only (``kind="gate"``) whatever the Pushgateway job is named.
    """
    return (
        f"{m.RUN_TIMESTAMP}{{{run_filter}}} * 1000"
        f" * on ({GATE_GROUP}) group_left (run_id, git_commit)"
        f' {m.RUN_INFO}_info{{kind="{RunKind.GATE}"}}'
    )


def gate_runs_expr(run_filter: str) -> str:
    """One series per gate run with an ``outcome`` label: the first branch that matches the run wins."""
    runs = gate_run_times_ms(run_filter)
    branches = []
    for label, outcomes in GATE_RUN_OUTCOMES:
        selected = f"({runs})"
        if outcomes is not None:
            matching = "|".join(str(outcome) for outcome in outcomes)
            selected += f' and on ({GATE_GROUP}) ({m.GATE_OUTCOME}{{outcome=~"{matching}"}} == 1)'
        branches.append(f'label_replace({selected}, "outcome", "{label}", "", "")')
    return f" or on ({GATE_GROUP}) ".join(branches)


def gate_runs(run_filter: str) -> PrometheusAnnotation:
    """A mark at the start of every gate run, titled with its outcome."""
    return (
        PrometheusAnnotation("Gate runs")
        .expr(gate_runs_expr(run_filter))
        .icon_color("blue")
        .title_format("Gate: {{outcome}}")
        .text_format("{{run_id}} at commit {{git_commit}} (suite {{suite}}, machine {{machine}})")
        .tag_keys(["outcome", "suite"])
        .value_as_timestamp_ms()
    )


def change_points(series_filter: str) -> PrometheusAnnotation:
    """A mark at the first run after each step that ``history`` found, written as a timestamp gauge."""
    return (
        PrometheusAnnotation("Change points")
        .expr(f"{m.CHANGE_POINT_TIMESTAMP}{{{series_filter}}} * 1000")
        .icon_color("orange")
        .title_format("{{direction}}: {{function}}")
        .text_format("Step in {{function}} ({{impl}}, {{workload}}) found by history from {{source}}")
        .tag_keys(["direction", "function", "impl"])
        .value_as_timestamp_ms()
    )
