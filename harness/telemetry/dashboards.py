"""Grafana dashboards of skybench, built with grafana-foundation-sdk: one small function per panel.

``python -m harness.telemetry.dashboards`` rewrites ``dashboards/grafana/*.json`` (sorted, indented JSON);
``--check`` fails when the committed files differ from what this module generates. The panels query the metric
names of ``harness.telemetry.metrics``, through the datasource provisioned by
``dashboards/provisioning/datasources/skybench.yml``; the annotation queries are in
``harness.telemetry.dashboard_annotations``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board_builders
from grafana_foundation_sdk.builders import prometheus as prometheus_builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as board_models
from grafana_foundation_sdk.models import prometheus as prometheus_models

from harness.telemetry import metrics as m
from harness.telemetry.dashboard_annotations import DATASOURCE, change_points, gate_runs
from harness.telemetry.delivery import write_atomically

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "grafana"
PANEL_WIDTH = 12
PANEL_HEIGHT = 8
# Every query filters on the dashboard's machine and suite variables (regexes: "All" is ".*").
RUN = 'machine=~"$machine", suite=~"$suite"'
FUNCTION_RUN = f'function="$function", {RUN}'

Json = dict[str, Any]
Panel = TypeVar("Panel", stat.Panel, timeseries.Panel, bargauge.Panel, table.Panel)
AnyPanel = stat.Panel | timeseries.Panel | bargauge.Panel | table.Panel


def query(expr: str, legend: str = "", *, instant: bool = False) -> prometheus_builders.Dataquery:
    """One query; ``with_queries`` numbers the refIds. Instant queries feed tables, range queries graphs."""
    built = (
        prometheus_builders.Dataquery().expr(expr).datasource(DATASOURCE).legend_format(legend or "__auto")
    )
    if instant:
        return built.instant().format(prometheus_models.PromQueryFormat.TABLE)
    return built.range().format(prometheus_models.PromQueryFormat.TIME_SERIES)


def with_queries(panel: Panel, *queries: prometheus_builders.Dataquery) -> Panel:
    """The panel on the skybench datasource, half a row wide, with its queries as refIds A, B, ..."""
    panel.datasource(DATASOURCE).span(PANEL_WIDTH).height(PANEL_HEIGHT)
    for index, item in enumerate(queries):
        panel.with_target(item.ref_id(chr(ord("A") + index)))
    return panel


def last_value() -> common_builders.ReduceDataOptions:
    """Gauges hold the latest run's value: stat and bar panels show the last one."""
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"])


def stat_panel(title: str) -> stat.Panel:
    return stat.Panel().title(title).reduce_options(last_value())


def bar_panel(title: str) -> bargauge.Panel:
    return bargauge.Panel().title(title).reduce_options(last_value())


def graph_panel(title: str) -> timeseries.Panel:
    legend = (
        common_builders.VizLegendOptions()
        .show_legend(True)
        .display_mode(common_models.LegendDisplayMode.LIST)
        .placement(common_models.LegendPlacement.BOTTOM)
    )
    tooltip = (
        common_builders.VizTooltipOptions()
        .mode(common_models.TooltipDisplayMode.SINGLE)
        .sort(common_models.SortOrder.NONE)
    )
    return timeseries.Panel().title(title).legend(legend).tooltip(tooltip)


def table_panel(title: str) -> table.Panel:
    return table.Panel().title(title).show_header(True)


def query_variable(name: str, expr: str, *, include_all: bool) -> board_builders.QueryVariable:
    variable = (
        board_builders.QueryVariable(name)
        .id(name)  # the SDK's default id is one zero UUID for all; Grafana keys variables by it
        .datasource(DATASOURCE)
        .query({"qryType": 1, "query": expr, "refId": "PrometheusVariableQueryEditor-VariableQuery"})
        .refresh(board_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(board_models.VariableSort.ALPHABETICAL_ASC)
        .multi(False)
        .include_all(include_all)
    )
    return variable.all_value(".*") if include_all else variable


def run_variables() -> list[board_builders.QueryVariable]:
    return [
        query_variable("machine", f"label_values({m.RUN_INFO}_info, machine)", include_all=True),
        query_variable("suite", f"label_values({m.RUN_INFO}_info, suite)", include_all=True),
    ]


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: Sequence[AnyPanel],
    *,
    variables: Sequence[board_builders.QueryVariable],
    annotations: Sequence[board_builders.AnnotationQuery],
) -> board_models.Dashboard:
    """Panels two per row, in order (the SDK places them), with ids 1, 2, ..."""
    board = (
        board_builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .readonly()
        .tooltip(board_models.DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .tags(["skybench"])
        .time("now-7d", "now")
        .timezone("utc")
        .version(1)
        .variables(list(variables))
        .annotations(list(annotations))
    )
    for index, panel in enumerate(panels):
        board.with_panel(panel.id(index + 1))
    return board.build()


# --- overview -------------------------------------------------------------------------------------------


def last_success_age() -> stat.Panel:
    return with_queries(
        stat_panel("Time since the last successful run")
        .unit("s")
        .description("Alert SkybenchNotReporting fires past 26 h."),
        query(f"time() - max({m.LAST_SUCCESS}{{{RUN}}})", "age"),
    )


def run_duration() -> stat.Panel:
    return with_queries(
        stat_panel("Run duration")
        .unit("s")
        .description("job skybench: make bench; job skybench-gate: the regression gate (both builds)."),
        query(f"{m.RUN_DURATION}{{{RUN}}}", "{{job}} {{machine}} {{suite}}"),
    )


def speedup_vs_claim() -> bargauge.Panel:
    return with_queries(
        bar_panel("Speedup per function (measured vs claimed)")
        .unit("x")
        .description("Python time / Rust time; the worst workload of each function."),
        query(f"min by (function) ({m.SPEEDUP}{{{RUN}}})", "{{function}} measured"),
        query(f"max by (function) ({m.SPEEDUP_CLAIMED}{{{RUN}}})", "{{function}} claimed"),
    )


def speedup_history() -> timeseries.Panel:
    return with_queries(
        graph_panel("Speedup over runs").unit("x"),
        query(f"{m.SPEEDUP}{{{RUN}}}", "{{function}} {{workload}}"),
    )


def production_speedup() -> bargauge.Panel:
    return with_queries(
        bar_panel("What callers get: production speedup (Python / fallback)")
        .unit("x")
        .description(
            "The worst workload of each function, through harness.functions.fallback; below 1, callers "
            "would be better off with the Python reference."
        ),
        query(f"min by (function) ({m.PRODUCTION_SPEEDUP}{{{RUN}}})", "{{function}} via fallback"),
        query(f"min by (function) ({m.SPEEDUP}{{{RUN}}})", "{{function}} direct"),
    )


def dispatch_overhead() -> bargauge.Panel:
    return with_queries(
        bar_panel("Dispatch overhead per call (fallback - Rust)")
        .unit("s")
        .description("The fallback wrapper's own cost: the worst workload of each function."),
        query(f"max by (function) ({m.DISPATCH_OVERHEAD}{{{RUN}}})", "{{function}}"),
    )


def time_per_side() -> timeseries.Panel:
    return with_queries(
        graph_panel("Median time per call, per side").unit("s"),
        query(f"{m.CALL_MEDIAN}{{{RUN}}}", "{{function}} {{impl}} {{workload}}"),
    )


def memory_per_side() -> bargauge.Panel:
    return with_queries(
        bar_panel("Bytes allocated per call").unit("bytes"),
        query(f"max by (function, impl) ({m.ALLOCATED_BYTES}{{{RUN}}})", "{{function}} {{impl}}"),
    )


def peak_rss() -> bargauge.Panel:
    return with_queries(
        bar_panel("Peak RSS growth (large workloads)").unit("bytes"),
        query(f"max by (function, impl) ({m.PEAK_RSS}{{{RUN}}})", "{{function}} {{impl}}"),
    )


def gate_verdicts() -> table.Panel:
    return with_queries(
        table_panel("Regression gate: outcome per pair")
        .unit("none")
        .description("One row per function, side, workload and metric; the outcome column is the verdict."),
        query(f"{m.GATE_OUTCOME}{{{RUN}}} == 1", instant=True),
    )


def gate_regressions() -> stat.Panel:
    return with_queries(
        stat_panel("Regressions flagged by the gate").unit("none"),
        query(f'sum({m.GATE_OUTCOME}{{outcome="regression", {RUN}}})', "regressions"),
    )


def claim_verdicts() -> table.Panel:
    return with_queries(
        table_panel("The report's claims: verdict per pair").unit("none"),
        query(f"{m.CLAIM_VERDICT}{{{RUN}}} == 1", instant=True),
    )


def fallback_calls() -> bargauge.Panel:
    return with_queries(
        bar_panel("Calls served by harness.functions.fallback, per side").unit("none"),
        query(f"sum by (impl) ({m.FALLBACK_CALLS}_total{{{RUN}}})", "{{impl}}"),
    )


def call_floor() -> stat.Panel:
    return with_queries(
        stat_panel("Call floor (no-op function)").unit("s"),
        query(f"{m.CALL_FLOOR}{{{RUN}}}", "{{impl}}"),
    )


def overview() -> board_models.Dashboard:
    return dashboard(
        "skybench-overview",
        "skybench: overview",
        "sky_rs against the Python reference: speedups against the report's claims, time, memory, gate.",
        [
            last_success_age(),
            run_duration(),
            speedup_vs_claim(),
            speedup_history(),
            production_speedup(),
            dispatch_overhead(),
            time_per_side(),
            memory_per_side(),
            peak_rss(),
            call_floor(),
            gate_regressions(),
            gate_verdicts(),
            claim_verdicts(),
            fallback_calls(),
        ],
        variables=run_variables(),
        annotations=[gate_runs(RUN), change_points('machine=~"$machine"')],
    )


# --- one function ---------------------------------------------------------------------------------------


def function_speedup() -> timeseries.Panel:
    return with_queries(
        graph_panel("Speedup with its 95% interval, and the claim").unit("x"),
        query(f"{m.SPEEDUP}{{{FUNCTION_RUN}}}", "{{workload}} speedup"),
        query(f"{m.SPEEDUP_CI_LOWER}{{{FUNCTION_RUN}}}", "{{workload}} lower"),
        query(f"{m.SPEEDUP_CI_UPPER}{{{FUNCTION_RUN}}}", "{{workload}} upper"),
        query(f"{m.SPEEDUP_CLAIMED}{{{FUNCTION_RUN}}}", "{{workload}} claimed"),
    )


def function_production() -> timeseries.Panel:
    return with_queries(
        graph_panel("Through the fallback: production speedup and dispatch overhead").unit("x"),
        query(f"{m.PRODUCTION_SPEEDUP}{{{FUNCTION_RUN}}}", "{{workload}} production speedup"),
        query(f"{m.PRODUCTION_SPEEDUP_CI_LOWER}{{{FUNCTION_RUN}}}", "{{workload}} lower"),
        query(f"{m.PRODUCTION_SPEEDUP_CI_UPPER}{{{FUNCTION_RUN}}}", "{{workload}} upper"),
    )


def function_overhead() -> timeseries.Panel:
    return with_queries(
        graph_panel("Dispatch overhead per call (fallback - Rust), with its 95% interval").unit("s"),
        query(f"{m.DISPATCH_OVERHEAD}{{{FUNCTION_RUN}}}", "{{workload}} overhead"),
        query(f"{m.DISPATCH_OVERHEAD_CI_LOWER}{{{FUNCTION_RUN}}}", "{{workload}} lower"),
        query(f"{m.DISPATCH_OVERHEAD_CI_UPPER}{{{FUNCTION_RUN}}}", "{{workload}} upper"),
    )


def function_time() -> timeseries.Panel:
    return with_queries(
        graph_panel("Time per call: median, fastest and slowest round").unit("s"),
        query(f"{m.CALL_MEDIAN}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} median"),
        query(f"{m.CALL_MIN}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} min"),
        query(f"{m.CALL_MAX}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} max"),
    )


def function_spread() -> timeseries.Panel:
    return with_queries(
        graph_panel("Spread: standard deviation of the per-round time").unit("s"),
        query(f"{m.CALL_STDEV}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}}"),
    )


def function_memory() -> timeseries.Panel:
    return with_queries(
        graph_panel("Memory per call").unit("bytes"),
        query(f"{m.ALLOCATED_BYTES}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} bytes"),
        query(f"{m.PEAK_RSS}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} peak RSS"),
    )


def function_allocations() -> timeseries.Panel:
    return with_queries(
        graph_panel("Allocations per call").unit("none"),
        query(f"{m.ALLOCATIONS}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}}"),
    )


def function_rust_native() -> timeseries.Panel:
    return with_queries(
        graph_panel("Rust without Python (Criterion) vs through Python").unit("s"),
        query(f"{m.RUST_NATIVE_CALL}{{{FUNCTION_RUN}}}", "{{workload}} Criterion"),
        query(f'{m.CALL_MEDIAN}{{impl="rust", {FUNCTION_RUN}}}', "{{workload}} via Python"),
    )


def function_gate() -> table.Panel:
    return with_queries(
        table_panel("Regression gate for this function").unit("none"),
        query(f"{m.GATE_OUTCOME}{{{FUNCTION_RUN}}} == 1", instant=True),
        query(f"{m.GATE_CHANGE}{{{FUNCTION_RUN}}}", instant=True),
    )


def function_fallback() -> bargauge.Panel:
    return with_queries(
        bar_panel("Calls served by harness.functions.fallback").unit("none"),
        query(f"{m.FALLBACK_CALLS}_total{{{FUNCTION_RUN}}}", "{{impl}}"),
    )


def function_drilldown() -> board_models.Dashboard:
    variables = [
        *run_variables(),
        query_variable("function", f"label_values({m.SPEEDUP}, function)", include_all=False),
    ]
    return dashboard(
        "skybench-function",
        "skybench: one function",
        "One function of sky_rs against its Python reference: speedup, time, spread, memory, gate.",
        [
            function_speedup(),
            function_production(),
            function_overhead(),
            function_time(),
            function_spread(),
            function_memory(),
            function_allocations(),
            function_rust_native(),
            function_gate(),
            function_fallback(),
        ],
        variables=variables,
        annotations=[gate_runs(RUN), change_points('function="$function", machine=~"$machine"')],
    )


def built_dashboards() -> dict[str, board_models.Dashboard]:
    """File name -> dashboard, as the SDK's models."""
    return {"skybench-overview.json": overview(), "skybench-function.json": function_drilldown()}


def render(board: board_models.Dashboard) -> str:
    return JSONEncoder(sort_keys=True, indent=2).encode(board) + "\n"


def all_dashboards() -> dict[str, Json]:
    """File name -> the dashboard's JSON, as Grafana reads it."""
    return {name: json.loads(render(board)) for name, board in built_dashboards().items()}


def stale_files(out_dir: Path) -> list[str]:
    """The dashboard files in ``out_dir`` that are missing or differ from what this module generates."""
    stale = []
    for name, board in built_dashboards().items():
        path = out_dir / name
        # Bytes, not text: a file that is not even UTF-8 is stale, not a crash.
        if not path.is_file() or path.read_bytes() != render(board).encode():
            stale.append(str(path))
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """0 written or up to date; 1 ``--check`` found a stale file; 2 a file could not be read or written."""
    parser = argparse.ArgumentParser(prog="python -m harness.telemetry.dashboards", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON is out of date")
    parser.add_argument("--out", type=Path, default=DASHBOARDS_DIR, help="folder (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files(args.out)
            if stale:
                print(f"out of date (run {parser.prog}): {', '.join(stale)}", file=sys.stderr)
                return 1
            return 0
        for name, board in built_dashboards().items():
            write_atomically(
                args.out / name, render(board).encode()
            )  # Grafana's provisioning polls the folder
    except OSError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
