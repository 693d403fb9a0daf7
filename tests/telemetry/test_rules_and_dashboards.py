"""Prometheus rules (promtool check and test) and the Grafana dashboards (generated, well formed, valid)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.telemetry import metrics as m
from harness.telemetry.dashboard_annotations import DATASOURCE
from harness.telemetry.dashboards import DASHBOARDS_DIR, all_dashboards, main
from harness.telemetry.textfile import exposition

from .synthetic import synthetic_gate_run, synthetic_run
from .test_metrics import promtool

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "dashboards" / "rules" / "skybench.rules.yml"
RULES_TEST = REPO / "dashboards" / "rules" / "skybench.rules.test.yml"
PROVISIONING = REPO / "dashboards" / "provisioning"
# What the live tests substitute for the dashboards' template variables.
TEMPLATE_VALUES = {"$machine": ".*", "$suite": ".*", "$function": "base36_encode"}
DATASOURCE_JSON = {"type": "prometheus", "uid": "skybench-prometheus"}


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, check=False)


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr with the template variables substituted) of every panel."""
    queries = []
    for board in all_dashboards().values():
        for panel in board["panels"]:
            for target in panel["targets"]:
                queries.append((board["uid"], panel["title"], substituted(target["expr"], TEMPLATE_VALUES)))
    return queries


def substituted(expr: str, values: dict[str, str]) -> str:
    for variable, value in values.items():
        expr = expr.replace(variable, value)
    return expr


def annotation_queries(values: dict[str, str] = TEMPLATE_VALUES) -> list[tuple[str, str, str]]:
    """(dashboard uid, annotation name, expr with the template variables substituted) of every annotation."""
    return [
        (board["uid"], annotation["name"], substituted(annotation["expr"], values))
        for board in all_dashboards().values()
        for annotation in board["annotations"]["list"]
    ]


def test_rules_pass_promtool_check() -> None:
    result = run_promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_rules_pass_their_unit_tests() -> None:
    result = run_promtool("test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_prometheus_config_template_is_valid(tmp_path: Path) -> None:
    template = (REPO / "telemetry" / "prometheus.yml.in").read_text()
    values = {
        "@SCRAPE_INTERVAL@": "1s",
        "@RULES_DIR@": str(RULES.parent),
        "@PUSHGATEWAY_PORT@": "19091",
        "@COLLECTD_PROMETHEUS_PORT@": "19103",
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    assert not re.search(r"@[A-Z_]+@", template)
    config = tmp_path / "prometheus.yml"
    config.write_text(template)
    result = run_promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    assert main(["--check"]) == 0, "run: python -m harness.telemetry.dashboards"
    assert sorted(path.name for path in DASHBOARDS_DIR.glob("*.json")) == sorted(all_dashboards())


def test_check_fails_on_a_stale_or_missing_dashboard(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    written = {path.name: json.loads(path.read_text()) for path in tmp_path.glob("*.json")}
    assert written == all_dashboards()
    assert main(["--check", "--out", str(tmp_path)]) == 0
    overview = tmp_path / "skybench-overview.json"
    overview.write_text(overview.read_text().replace('"now-7d"', '"now-1d"'))
    assert main(["--check", "--out", str(tmp_path)]) == 1
    overview.write_bytes(b"\xff\xfe not UTF-8")
    assert main(["--check", "--out", str(tmp_path)]) == 1
    overview.unlink()
    assert main(["--check", "--out", str(tmp_path)]) == 1


def test_unwritable_folder_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert main(["--out", str(not_a_folder)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error and str(not_a_folder) in error


def test_dashboards_are_well_formed() -> None:
    boards: list[dict[str, Any]] = [json.loads(path.read_text()) for path in DASHBOARDS_DIR.glob("*.json")]
    assert len({board["uid"] for board in boards}) == len(boards)
    provisioned_uid = re.search(r"uid: (\S+)", (PROVISIONING / "datasources" / "skybench.yml").read_text())
    assert provisioned_uid is not None and provisioned_uid[1] == DATASOURCE.uid == DATASOURCE_JSON["uid"]
    for board in boards:
        ids = [panel["id"] for panel in board["panels"]]
        assert len(set(ids)) == len(ids), board["uid"]
        variables = {variable["name"] for variable in board["templating"]["list"]}
        for panel in board["panels"]:
            assert panel["datasource"] == DATASOURCE_JSON, panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["expr"].strip(), panel["title"]
                assert set(re.findall(r"\$(\w+)", target["expr"])) <= variables, panel["title"]
            position = panel["gridPos"]
            assert position["x"] + position["w"] <= 24
        names = [variable["name"] for variable in board["templating"]["list"]]
        assert len({variable["id"] for variable in board["templating"]["list"]}) == len(names), board["uid"]
    drilldown = next(board for board in boards if board["uid"] == "skybench-function")
    assert "function" in {variable["name"] for variable in drilldown["templating"]["list"]}


def test_every_dashboard_has_the_gate_run_and_change_point_annotations() -> None:
    change_point = m.CHANGE_POINT_TIMESTAMP
    expected_change_points = {
        "skybench-overview": f'{change_point}{{machine=~"$machine"}} * 1000',
        "skybench-function": f'{change_point}{{function="$function", machine=~"$machine"}} * 1000',
    }
    for board in all_dashboards().values():
        annotations = {item["name"]: item for item in board["annotations"]["list"]}
        assert sorted(annotations) == ["Change points", "Gate runs"], board["uid"]
        for annotation in annotations.values():
            assert annotation["datasource"] == DATASOURCE_JSON
            assert annotation["enable"] is True and annotation["useValueForTime"] is True
            assert set(re.findall(r"\{\{(\w+)\}\}", annotation["titleFormat"] + annotation["textFormat"]))
        change_points = annotations["Change points"]
        assert change_points["expr"] == expected_change_points[board["uid"]]
        assert "{{direction}}" in change_points["titleFormat"]
        gate = annotations["Gate runs"]
        assert gate["titleFormat"] == "Gate: {{outcome}}"
        assert f'{m.RUN_TIMESTAMP}{{machine=~"$machine", suite=~"$suite"}} * 1000' in gate["expr"]
        assert f'{m.RUN_INFO}_info{{kind="gate"}}' in gate["expr"]
        outcomes = re.findall(r'"outcome", "([a-z ]+)", "", ""\)', gate["expr"])
        assert outcomes == ["regression", "pass", "cannot judge"]


def test_panel_queries_are_valid_promql(tmp_path: Path) -> None:
    # JSON is YAML: every panel query as a recording rule lets promtool parse them all offline.
    queries = [*panel_queries(), *annotation_queries()]
    rules = [
        {"record": f"panel:query_{index}:check", "expr": expr} for index, (_, _, expr) in enumerate(queries)
    ]
    path = tmp_path / "panel-queries.yml"
    path.write_text(json.dumps({"groups": [{"name": "panels", "rules": rules}]}))
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_panel_queries_use_only_exported_metrics() -> None:
    exported = {
        sample.name
        for run in (synthetic_run(), synthetic_gate_run())  # what `bench` and `gate` send
        for family in text_string_to_metric_families(exposition(run, succeeded=True).decode())
        for sample in family.samples
    }
    for uid, title, expr in panel_queries():
        used = set(re.findall(r"\bskybench_[a-z_]+", expr))
        assert used and used <= exported, f"{uid} / {title}: {used - exported}"
    # The change points come from `history`, not from a run.
    for uid, name, expr in annotation_queries():
        used = set(re.findall(r"\bskybench_[a-z_]+", expr))
        assert used and used <= exported | {m.CHANGE_POINT_TIMESTAMP}, f"{uid} / {name}: {used - exported}"
