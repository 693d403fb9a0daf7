"""``report.html``: one self-contained page per run folder (and per gate folder) to open in a browser.

The page is Markdown rendered by ``markdown-it-py`` (raw HTML in the text is escaped, so a workload name or an
error message can never inject markup), with every chart embedded as a ``data:`` URI: no file beside it and no
network is needed to show it. A run's page leads with what a reader asks first (the machine, the average
speedup and the verdicts, then the speedup chart), then one section per function (time per side, speedup,
memory, its scaling chart), then the whole ``report.md``.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from pathlib import Path

from harness.atomic import write_text_atomic
from harness.results import PairResult, RunResult, Verdict
from harness.sinks.formatting import format_bytes, format_ns, format_ratio, markdown_table
from harness.sinks.report import REPORT_FILENAME, render_report
from harness.sinks.report_fallback import format_overhead, production_cell
from harness.stats import geometric_mean_speedup

HTML_FILENAME = "report.html"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
code { background: #f5f5f5; padding: 0 0.2em; }
.machine { background: #f7f7fb; border-left: 4px solid #4c72b0; padding: 0.5em 1em; }
"""


def _markdown_to_html(text: str) -> str:
    from markdown_it import MarkdownIt  # noqa: PLC0415 - only the pages need it

    rendered: str = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return rendered


def page(title: str, markdown_text: str) -> str:
    """A whole HTML document: the title and the rendered Markdown, with an inline style sheet."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"{_markdown_to_html(markdown_text)}</body>\n</html>\n"
    )


def embedded_image(path: Path, caption: str) -> list[str]:
    """Markdown for a PNG chart embedded as a data URI, with its caption; nothing if the chart is absent."""
    if not path.is_file():
        return []
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return [f"![{caption}](data:image/png;base64,{encoded})", "", f"*{caption}*", ""]


def _machine_lines(run: RunResult) -> list[str]:
    env = run.environment
    cores = env.get("logical_cores", "?")
    machine = f"{env.get('cpu_model', 'unknown CPU')}, {cores} logical cores, {env.get('os', '')}"
    software = f"Python {env.get('python_version', '?')}, {env.get('rustc_version', 'rustc ?')}"
    commit = env.get("git_commit", "")[:12]
    return [
        f"**Machine:** {machine}; {software}; fingerprint `{env.get('machine_fingerprint', '?')}`; "
        f"commit `{commit or '?'}`; {run.mode} mode, {run.duration_seconds:.0f} s"
        + ("; **interrupted**: what is here was measured, the rest was not" if run.interrupted else ""),
        "",
    ]


def _headline(run: RunResult) -> list[str]:
    if not run.pairs:
        return ["No pair was timed in this run.", ""]
    average = geometric_mean_speedup(run.pairs)
    verdicts = {verdict: sum(p.verdict is verdict for p in run.pairs) for verdict in Verdict}
    counted = ", ".join(f"{count} {verdict}" for verdict, count in verdicts.items() if count)
    speedup = average.speedup
    return [
        f"**Average speedup {format_ratio(speedup.value)}** [{speedup.ci_low:.3g}, {speedup.ci_high:.3g}] "
        f"(geometric mean over {average.function_count} functions) against the claimed "
        f"{format_ratio(average.claimed_speedup)}: {average.verdict}. {len(run.pairs)} pairs: {counted}.",
        "",
    ]


def _memory_cell(pair: PairResult) -> str:
    sides = []
    named = (("Python", pair.python_memory), ("Rust", pair.rust_memory), ("Fallback", pair.fallback_memory))
    for name, memory in named:
        if memory is not None:
            rss = "" if memory.peak_rss_bytes is None else f", peak RSS {format_bytes(memory.peak_rss_bytes)}"
            sides.append(f"{name} {format_bytes(memory.alloc_bytes_per_call)}/call{rss}")
    return "; ".join(sides) or "-"


def _function_section(function: str, pairs: Iterable[PairResult], run_dir: Path) -> list[str]:
    rows = [
        (
            pair.workload,
            format_ns(pair.python.median_ns),
            format_ns(pair.rust.median_ns),
            format_ns(pair.fallback.median_ns if pair.fallback else None),
            f"{format_ratio(pair.speedup.value)} [{pair.speedup.ci_low:.3g}, {pair.speedup.ci_high:.3g}]",
            production_cell(pair),
            format_overhead(pair.dispatch_overhead) if pair.dispatch_overhead else "-",
            format_ratio(pair.claimed_speedup),
            str(pair.verdict),
            _memory_cell(pair),
        )
        for pair in pairs
    ]
    header = (
        "workload",
        "Python",
        "Rust",
        "fallback",
        "speedup [95%]",
        "via fallback",
        "dispatch overhead [95%]",
        "claim",
        "verdict",
        "memory",
    )
    caption = (
        f"{function}: median time per call against input size (log-log). Parallel lines are a constant "
        "speedup; a Rust line close to its physical reference (hashlib, coreutils) has little left to gain"
    )
    return [
        f"### `{function}`",
        "",
        *markdown_table(header, rows),
        "",
        *embedded_image(run_dir / f"scaling_{function}.png", caption),
    ]


def render_run_html(run: RunResult, run_dir: Path, report_text: str | None = None) -> str:
    """The run's page; the charts are read from ``run_dir`` (written there by ``harness.sinks.charts``).

    ``report_text`` is report.md's text when it is already rendered (the run folder has it): no second pass
    of its statistics."""
    by_function: dict[str, list[PairResult]] = {}
    for pair in run.pairs:
        by_function.setdefault(pair.function, []).append(pair)
    caption = (
        "Each dot is a workload's speedup (Python time / Rust time) with its 95% interval: right of its "
        "black bar the claim holds, left of the dashed 1x line Rust is slower than Python"
    )
    lines = [
        f"# skybench run `{run.run_id}`",
        "",
        *_machine_lines(run),
        *_headline(run),
        *embedded_image(run_dir / "speedups.png", caption),
        "## Per function",
        "",
    ]
    for function, pairs in by_function.items():
        lines += _function_section(function, pairs, run_dir)
    memory_caption = "Bytes allocated per call (log axis): where the Rust bar is shorter, Rust allocates less"
    lines += embedded_image(run_dir / "memory.png", memory_caption)
    # report.md's own title goes; its "## " sections sit one level down, under this page's heading.
    report_body = (report_text or render_report(run)).split("\n", 1)[-1]
    lines += ["## The full report (report.md)", "", re.sub(r"^## ", "### ", report_body, flags=re.MULTILINE)]
    return page(f"skybench {run.run_id}", "\n".join(lines))


def write_run_html(run: RunResult, run_dir: Path) -> Path:
    """``report.html`` in the run folder, with the report.md written there before it (``write_report``)."""
    report_md = run_dir / REPORT_FILENAME
    report_text = report_md.read_text(encoding="utf-8") if report_md.is_file() else None
    path = run_dir / HTML_FILENAME
    write_text_atomic(path, render_run_html(run, run_dir, report_text))
    return path


def write_html_page(path: Path, title: str, markdown_text: str) -> Path:
    """``markdown_text`` as a page at ``path`` (the gate's folder: its full summary)."""
    return write_text_atomic(path, page(title, markdown_text))
