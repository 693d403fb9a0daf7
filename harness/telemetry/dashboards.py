"""Grafana dashboards of skybench, generated from code: one small function per panel.

``python -m harness.telemetry.dashboards`` rewrites ``dashboards/grafana/*.json`` (sorted, indented JSON);
``--check`` fails when the committed files differ from what this module generates. The panels query the metric
names of ``harness.telemetry.metrics``, through the datasource provisioned by
``dashboards/provisioning/datasources/skybench.yml``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.telemetry import metrics as m

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "grafana"
DATASOURCE = {"type": "prometheus", "uid": "skybench-prometheus"}
SCHEMA_VERSION = 39
PANEL_WIDTH = 12
PANEL_HEIGHT = 8
# Every query filters on the dashboard's machine and suite variables (regexes: "All" is ".*").
RUN = 'machine=~"$machine", suite=~"$suite"'
FUNCTION_RUN = f'function="$function", {RUN}'

Json = dict[str, Any]


def target(expr: str, legend: str = "", *, instant: bool = False) -> Json:
    """One query; ``panel`` numbers the refIds."""
    return {
        "datasource": DATASOURCE,
        "expr": expr,
        "format": "table" if instant else "time_series",
        "instant": instant,
        "legendFormat": legend or "__auto",
        "range": not instant,
    }


def panel(kind: str, title: str, targets: list[Json], *, unit: str = "none", description: str = "") -> Json:
    """A panel without position; ``layout`` assigns ids and grid positions."""
    return {
        "datasource": DATASOURCE,
        "description": description,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [{**t, "refId": chr(ord("A") + index)} for index, t in enumerate(targets)],
        "title": title,
        "type": kind,
    }


def layout(panels: list[Json]) -> list[Json]:
    """Two panels per row, ids in order."""
    placed = []
    for index, item in enumerate(panels):
        position = {
            "h": PANEL_HEIGHT,
            "w": PANEL_WIDTH,
            "x": (index % 2) * PANEL_WIDTH,
            "y": (index // 2) * PANEL_HEIGHT,
        }
        placed.append({**item, "gridPos": position, "id": index + 1})
    return placed


def query_variable(name: str, query: str, *, include_all: bool) -> Json:
    return {
        "allValue": ".*" if include_all else None,
        "current": {},
        "datasource": DATASOURCE,
        "definition": query,
        "includeAll": include_all,
        "multi": False,
        "name": name,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "sort": 1,
        "type": "query",
    }


def run_variables() -> list[Json]:
    return [
        query_variable("machine", f"label_values({m.RUN_INFO}_info, machine)", include_all=True),
        query_variable("suite", f"label_values({m.RUN_INFO}_info, suite)", include_all=True),
    ]


def dashboard(uid: str, title: str, description: str, panels: list[Json], variables: list[Json]) -> Json:
    return {
        "annotations": {"list": []},
        "description": description,
        "editable": False,
        "graphTooltip": 1,
        "links": [],
        "panels": layout(panels),
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["skybench"],
        "templating": {"list": variables},
        "time": {"from": "now-7d", "to": "now"},
        "timezone": "utc",
        "title": title,
        "uid": uid,
        "version": 1,
    }


# --- overview -------------------------------------------------------------------------------------------


def last_success_age() -> Json:
    return panel(
        "stat",
        "Time since the last successful run",
        [target(f"time() - max({m.LAST_SUCCESS}{{{RUN}}})", "age")],
        unit="s",
        description="Alert SkybenchNotReporting fires past 26 h.",
    )


def run_duration() -> Json:
    return panel(
        "stat",
        "Run duration",
        [target(f"{m.RUN_DURATION}{{{RUN}}}", "{{job}} {{machine}} {{suite}}")],
        unit="s",
        description="job skybench: make bench; job skybench-gate: the regression gate (both builds).",
    )


def speedup_vs_claim() -> Json:
    return panel(
        "bargauge",
        "Speedup per function (measured vs claimed)",
        [
            target(f"min by (function) ({m.SPEEDUP}{{{RUN}}})", "{{function}} measured"),
            target(f"max by (function) ({m.SPEEDUP_CLAIMED}{{{RUN}}})", "{{function}} claimed"),
        ],
        unit="x",
        description="Python time / Rust time; the worst workload of each function.",
    )


def speedup_history() -> Json:
    return panel(
        "timeseries",
        "Speedup over runs",
        [target(f"{m.SPEEDUP}{{{RUN}}}", "{{function}} {{workload}}")],
        unit="x",
    )


def time_per_side() -> Json:
    return panel(
        "timeseries",
        "Median time per call, per side",
        [target(f"{m.CALL_MEDIAN}{{{RUN}}}", "{{function}} {{impl}} {{workload}}")],
        unit="s",
    )


def memory_per_side() -> Json:
    return panel(
        "bargauge",
        "Bytes allocated per call",
        [target(f"max by (function, impl) ({m.ALLOCATED_BYTES}{{{RUN}}})", "{{function}} {{impl}}")],
        unit="bytes",
    )


def peak_rss() -> Json:
    return panel(
        "bargauge",
        "Peak RSS growth (large workloads)",
        [target(f"max by (function, impl) ({m.PEAK_RSS}{{{RUN}}})", "{{function}} {{impl}}")],
        unit="bytes",
    )


def gate_verdicts() -> Json:
    return panel(
        "table",
        "Regression gate: outcome per pair",
        [target(f"{m.GATE_OUTCOME}{{{RUN}}} == 1", instant=True)],
        description="One row per function, side, workload and metric; the outcome column is the verdict.",
    )


def gate_regressions() -> Json:
    return panel(
        "stat",
        "Regressions flagged by the gate",
        [target(f'sum({m.GATE_OUTCOME}{{outcome="regression", {RUN}}})', "regressions")],
    )


def claim_verdicts() -> Json:
    return panel(
        "table",
        "The report's claims: verdict per pair",
        [target(f"{m.CLAIM_VERDICT}{{{RUN}}} == 1", instant=True)],
    )


def fallback_calls() -> Json:
    return panel(
        "bargauge",
        "Calls served by harness.fallback, per side",
        [target(f"sum by (impl) ({m.FALLBACK_CALLS}_total{{{RUN}}})", "{{impl}}")],
    )


def call_floor() -> Json:
    return panel(
        "stat",
        "Call floor (no-op function)",
        [target(f"{m.CALL_FLOOR}{{{RUN}}}", "{{impl}}")],
        unit="s",
    )


def overview() -> Json:
    return dashboard(
        "skybench-overview",
        "skybench: overview",
        "sky_rs against the Python reference: speedups against the report's claims, time, memory, gate.",
        [
            last_success_age(),
            run_duration(),
            speedup_vs_claim(),
            speedup_history(),
            time_per_side(),
            memory_per_side(),
            peak_rss(),
            call_floor(),
            gate_regressions(),
            gate_verdicts(),
            claim_verdicts(),
            fallback_calls(),
        ],
        run_variables(),
    )


# --- one function ---------------------------------------------------------------------------------------


def function_speedup() -> Json:
    return panel(
        "timeseries",
        "Speedup with its 95% interval, and the claim",
        [
            target(f"{m.SPEEDUP}{{{FUNCTION_RUN}}}", "{{workload}} speedup"),
            target(f"{m.SPEEDUP_CI_LOWER}{{{FUNCTION_RUN}}}", "{{workload}} lower"),
            target(f"{m.SPEEDUP_CI_UPPER}{{{FUNCTION_RUN}}}", "{{workload}} upper"),
            target(f"{m.SPEEDUP_CLAIMED}{{{FUNCTION_RUN}}}", "{{workload}} claimed"),
        ],
        unit="x",
    )


def function_time() -> Json:
    return panel(
        "timeseries",
        "Time per call: median, fastest and slowest round",
        [
            target(f"{m.CALL_MEDIAN}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} median"),
            target(f"{m.CALL_MIN}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} min"),
            target(f"{m.CALL_MAX}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} max"),
        ],
        unit="s",
    )


def function_spread() -> Json:
    return panel(
        "timeseries",
        "Spread: standard deviation of the per-round time",
        [target(f"{m.CALL_STDEV}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}}")],
        unit="s",
    )


def function_memory() -> Json:
    return panel(
        "timeseries",
        "Memory per call",
        [
            target(f"{m.ALLOCATED_BYTES}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} bytes"),
            target(f"{m.PEAK_RSS}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}} peak RSS"),
        ],
        unit="bytes",
    )


def function_allocations() -> Json:
    return panel(
        "timeseries",
        "Allocations per call",
        [target(f"{m.ALLOCATIONS}{{{FUNCTION_RUN}}}", "{{impl}} {{workload}}")],
    )


def function_rust_native() -> Json:
    return panel(
        "timeseries",
        "Rust without Python (Criterion) vs through Python",
        [
            target(f"{m.RUST_NATIVE_CALL}{{{FUNCTION_RUN}}}", "{{workload}} Criterion"),
            target(f'{m.CALL_MEDIAN}{{impl="rust", {FUNCTION_RUN}}}', "{{workload}} via Python"),
        ],
        unit="s",
    )


def function_gate() -> Json:
    return panel(
        "table",
        "Regression gate for this function",
        [
            target(f"{m.GATE_OUTCOME}{{{FUNCTION_RUN}}} == 1", instant=True),
            target(f"{m.GATE_CHANGE}{{{FUNCTION_RUN}}}", instant=True),
        ],
    )


def function_fallback() -> Json:
    return panel(
        "bargauge",
        "Calls served by harness.fallback",
        [target(f"{m.FALLBACK_CALLS}_total{{{FUNCTION_RUN}}}", "{{impl}}")],
    )


def function_drilldown() -> Json:
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
            function_time(),
            function_spread(),
            function_memory(),
            function_allocations(),
            function_rust_native(),
            function_gate(),
            function_fallback(),
        ],
        variables,
    )


def all_dashboards() -> dict[str, Json]:
    """File name -> dashboard."""
    return {"skybench-overview.json": overview(), "skybench-function.json": function_drilldown()}


def render(board: Json) -> str:
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.telemetry.dashboards", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON is out of date")
    parser.add_argument("--out", type=Path, default=DASHBOARDS_DIR, help="folder (default: %(default)s)")
    args = parser.parse_args(argv)
    stale = []
    for name, board in all_dashboards().items():
        path = args.out / name
        text = render(board)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print(
            f"out of date (run python -m harness.telemetry.dashboards): {', '.join(stale)}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
