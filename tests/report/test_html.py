"""report.html in headless Chromium (Debian's package): every image loads, the console stays clean, no request
leaves the page, and the page has the figures the CSV has. A screenshot is kept in the test's folder."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.sinks.charts import write_charts
from harness.sinks.formatting import format_ratio
from harness.sinks.report_html import HTML_FILENAME, write_html_page, write_run_html
from harness.sinks.run_folder import write_run_folder

from .synthetic import run_with_references

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")


@dataclass
class PageVisit:
    """What a person would have seen: the text, the images' load state, console errors, requests made."""

    text: str
    images: list[dict[str, Any]]
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: make test installs it (scripts/install-test-deps.sh)")
        pytest.skip("chromium not installed (bash scripts/install-test-deps.sh)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def visit(browser: Any, page_path: Path, screenshot: Path) -> PageVisit:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    visit = PageVisit(text="", images=[])
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: visit.console_errors.append(str(error)))

    def only_the_page(route: Any) -> None:
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            visit.outside_requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_page)
    page.goto(page_path.as_uri(), wait_until="load")
    visit.images = page.evaluate(
        "Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}))"
    )
    visit.text = page.inner_text("body")
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return visit


def _assert_clean(visit: PageVisit, screenshot: Path) -> None:
    assert visit.images, "no chart on the page"
    assert all(image["complete"] and image["width"] > 0 for image in visit.images), visit.images
    assert visit.console_errors == []
    assert visit.outside_requests == []
    assert screenshot.stat().st_size > 10_000


def _assert_has_the_csv_figures(visit: PageVisit, run_dir: Path) -> None:
    with (run_dir / "speedups.csv").open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["function"] != "_noop"]
    assert rows
    lines = visit.text.splitlines()
    for row in rows:
        speedup = format_ratio(float(row["speedup"]))
        expected = f"{row['workload']}\t"
        assert any(line.startswith(expected) and speedup in line for line in lines), (row, speedup)


def test_a_run_page_loads_whole_in_chromium(browser: Any, tmp_path: Path) -> None:
    run = run_with_references()
    run_dir = write_run_folder(run, tmp_path / "reports")
    write_charts(run, run_dir)
    page_path = write_run_html(run, run_dir)
    screenshot = tmp_path / "report.png"
    seen = visit(browser, page_path, screenshot)
    _assert_clean(seen, screenshot)
    assert len(seen.images) == len(list(run_dir.glob("*.png")))
    _assert_has_the_csv_figures(seen, run_dir)
    assert seen.text.startswith(f"skybench run {run.run_id}")
    assert "Machine: Synthetic CPU" in seen.text


def test_markup_in_the_data_is_shown_not_run(browser: Any, tmp_path: Path) -> None:
    text = "# Gate\n\n| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x> |\n"
    seen = visit(browser, write_html_page(tmp_path / "report.html", "gate", text), tmp_path / "gate.png")
    assert "<script>alert(1)</script>" in seen.text
    assert seen.images == [] and seen.console_errors == [] and seen.outside_requests == []


QUICK_BENCH = ("bench", "--quick", "--only", "base36_encode", "--no-criterion", "--no-progress", "--no-push")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_page_of_a_real_quick_bench(browser: Any, tmp_path: Path) -> None:
    bench = subprocess.run(
        [sys.executable, "-m", "harness", *QUICK_BENCH, "--out", str(tmp_path / "reports")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert bench.returncode == 0, bench.stderr[-2000:]
    [run_dir] = (tmp_path / "reports" / "runs").iterdir()
    screenshot = tmp_path / "report.png"
    seen = visit(browser, run_dir / HTML_FILENAME, screenshot)
    _assert_clean(seen, screenshot)
    _assert_has_the_csv_figures(seen, run_dir)


def test_a_gate_folder_page_loads_whole_with_its_summary(browser: Any, tmp_path: Path) -> None:
    from harness.gate.outcome import GateReport  # noqa: PLC0415
    from harness.gate.outputs import write_outputs  # noqa: PLC0415
    from harness.results import GateComparison, GateOutcome, Impl  # noqa: PLC0415

    regression = GateComparison(
        function="format_float", impl=Impl.PYTHON, workload="mixed-p0", metric="time", change_ratio=1.112,
        ci_low=1.088, ci_high=1.136, p_value_adjusted=0.0007, outcome=GateOutcome.REGRESSION,
        base_median=900.0, candidate_median=1001.0, detectable_change=0.061,
    )  # fmt: skip
    report = GateReport(mode="against", base="abc", candidate="def", comparisons=(regression,))
    paths = {path.name: path for path in write_outputs(report, tmp_path / "gate")}
    screenshot = tmp_path / "gate.png"
    seen = visit(browser, paths[HTML_FILENAME], screenshot)
    assert seen.console_errors == [] and seen.outside_requests == []
    assert "1 regression: format_float (Python) mixed-p0 +11.2% [+8.8%, +13.6%]" in seen.text
    assert screenshot.stat().st_size > 5_000
