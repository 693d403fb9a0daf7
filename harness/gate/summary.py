"""The gate's summary for people: ``gate-summary.md`` (the CI job summary), ``gate-comment.md`` (the PR's).

Read top down, it answers what a reviewer asks in order: did anything regress, and by how much (the headline
names each regression with its change and interval); what was compared (the counts); was it a fair comparison
(the machine, and a banner when base and head were measured differently); then the table of what matters,
regressions first; and, for every comparison that passed, the smallest slowdown the run could have caught, so
"pass" reads as "nothing above X% here" rather than "nothing seen".

Both files are cut to a size (64 KB for a comment, 1 MiB for a job summary) section by section in that order,
so regressions are the last thing ever dropped; a cut names how many rows are left out and where the full
results are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.gate.floor_drift import summary_lines as floor_drift_lines
from harness.gate.outcome import ExitCode, GateReport
from harness.results import GateComparison, GateOutcome
from harness.sinks.formatting import format_bytes, format_ns

COMMENT_LIMIT_BYTES = 64 * 1024
JOB_SUMMARY_LIMIT_BYTES = 1024 * 1024
# The first line of the comment: how the workflow finds its own comment to edit it in place.
COMMENT_MARKER = "<!-- skybench-gate -->"
FULL_RESULTS_HINT = "the `bench-gate` artifact: `gate-comparisons.json` (every comparison), `report.html`"
HEADLINE_REGRESSIONS = 5
# Environment keys that change what a time means; a banner names each that differs between base and head.
COMPARED_ENVIRONMENT_KEYS = ("machine_fingerprint", "python_version", "rustc_version", "sky_rs_build_profile")
_SIDE = {"rust": "Rust", "python": "Python", "fallback": "fallback"}
_FOOTER_RESERVE_BYTES = 400


def _percent(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f}%"


def _interval(comparison: GateComparison) -> str:
    if comparison.ci_low == comparison.ci_high:
        return "-"
    return f"[{_percent(comparison.ci_low)}, {_percent(comparison.ci_high)}]"


def could_see(comparison: GateComparison) -> str:
    """The minimum detectable effect (``detectable_change``) as every output shows it: ``+5.3%``."""
    seen = comparison.detectable_change
    return "-" if seen is None else f"+{seen * 100:.1f}%"


def evidence_label(report: GateReport, comparison: GateComparison) -> str:
    """`` (time only)`` and the like on a Rust suspect's time and instruction rows (suspect_instructions)."""
    if comparison.metric not in ("time", "instructions"):
        return ""
    label = report.evidence.get(f"{comparison.function}/{comparison.impl}/{comparison.workload}/time")
    return f" ({label})" if label else ""


def _name(comparison: GateComparison) -> str:
    side = _SIDE.get(str(comparison.impl), str(comparison.impl))
    metric = "" if comparison.metric == "time" else f", {comparison.metric}"
    return f"{comparison.function} ({side}{metric}) {comparison.workload}"


def _value(comparison: GateComparison, value: float | None) -> str:
    if value is None:
        return "-"
    if comparison.metric == "time":
        return format_ns(value)
    if comparison.metric in {"alloc_bytes", "peak_rss"}:
        return format_bytes(value)
    return f"{value:,.0f}"


@dataclass(frozen=True)
class Counts:
    regressions: int
    improvements: int
    unchanged: int
    new: int
    dropped: int
    cannot_judge: int

    def line(self) -> str:
        return (
            f"{self.regressions} regressions, {self.improvements} improvements, {self.unchanged} unchanged, "
            f"{self.new} new, {self.dropped} dropped, {self.cannot_judge} cannot judge"
        )


def count(comparisons: Sequence[GateComparison]) -> Counts:
    """New and dropped comparisons are counted apart from the other cannot-judge ones."""
    judged = [c for c in comparisons if c.presence == "both"]
    return Counts(
        regressions=sum(c.outcome is GateOutcome.REGRESSION for c in judged),
        improvements=sum(c.outcome is GateOutcome.IMPROVEMENT for c in judged),
        unchanged=sum(c.outcome is GateOutcome.PASS for c in judged),
        new=sum(c.presence == "new" for c in comparisons),
        dropped=sum(c.presence == "dropped" for c in comparisons),
        cannot_judge=sum(c.outcome is GateOutcome.CANNOT_JUDGE for c in judged),
    )


def headline(report: GateReport) -> str:
    """One sentence: the regressions by name with change and interval, or what was ruled out."""
    regressions = sorted(report.regressions, key=lambda c: -c.change_ratio)
    if regressions:
        named = ", ".join(
            f"{_name(c)} {_percent(c.change_ratio)} {_interval(c)}"
            for c in regressions[:HEADLINE_REGRESSIONS]
        )
        more = len(regressions) - HEADLINE_REGRESSIONS
        plural = "s" if len(regressions) > 1 else ""
        return f"{len(regressions)} regression{plural}: {named}" + (f", and {more} more" if more > 0 else "")
    why = report.why_cannot_judge
    if why is not None:
        return f"Cannot judge this change [{why.code}]: {why.detail}"
    judged = [c for c in report.comparisons if c.outcome is not GateOutcome.CANNOT_JUDGE]
    # Times only: a count's figure is its threshold, and "slower" is about time.
    seen = [c.detectable_change for c in judged if c.metric == "time" and c.detectable_change is not None]
    limit = f"; nothing slower than +{max(seen) * 100:.1f}% went unseen" if seen else ""
    return f"No regression in {len(judged)} comparisons{limit}"


def environment_lines(report: GateReport) -> list[str]:
    """Where it ran, and a warning banner for every compared key that differs between base and head."""
    env = report.environment
    lines = []
    if env:
        lines.append(
            f"Measured on {env.get('cpu_model', 'an unknown CPU')} ({env.get('logical_cores', '?')} cores), "
            f"`{env.get('machine_fingerprint', '?')}`, Python {env.get('python_version', '?')}, "
            f"{env.get('rustc_version', 'rustc ?')}, {env.get('sky_rs_build_profile', '?')} build."
        )
    if report.base_environment and env:
        differs = [
            f"{key}: base `{report.base_environment.get(key, '?')}`, head `{env.get(key, '?')}`"
            for key in COMPARED_ENVIRONMENT_KEYS
            if report.base_environment.get(key) != env.get(key)
        ]
        if differs:
            lines.append("> [!WARNING]")
            lines.append("> Base and head were measured differently: " + "; ".join(differs) + ".")
    return lines


def stage2_lines(report: GateReport) -> list[str]:
    """One line per suspect a sequential stage 2 (more than one look) re-measured: how it ended, after how
    many looks and fresh rounds. The fixed stage 2's details already say so: no lines at one look."""
    record = report.stage2
    if record is None or record.max_looks == 1 or not record.suspects:
        return []
    budget = " (the time budget stopped the looks)" if record.budget_spent else ""
    return [
        "",
        f"Stage 2 took {record.looks_started} of at most {record.max_looks} look(s){budget}:",
        *(f"- {record.line(key)}" for key in record.suspects),
    ]


@dataclass(frozen=True)
class Section:
    """A titled table whose rows may be cut; ``header`` and ``intro`` are kept whole or not at all."""

    title: str
    intro: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table_line(cells: Iterable[str]) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


_MATTERS = ("comparison", "base", "head", "change", "interval", "p (adj.)", "could see", "verdict")


def _matters_row(comparison: GateComparison, label: str = "") -> tuple[str, ...]:
    p_value = "-" if comparison.p_value_adjusted is None else f"{comparison.p_value_adjusted:.3g}"
    verdict = {
        GateOutcome.REGRESSION: "**regression**",
        GateOutcome.IMPROVEMENT: "improvement",
        GateOutcome.CANNOT_JUDGE: f"cannot judge: {comparison.detail}",
        GateOutcome.PASS: "pass",
    }[comparison.outcome]
    if comparison.presence != "both":
        verdict = f"{comparison.presence}: {comparison.detail}"
    verdict += label
    changed = comparison.outcome is not GateOutcome.CANNOT_JUDGE
    return (
        _name(comparison),
        _value(comparison, comparison.base_median),
        _value(comparison, comparison.candidate_median),
        _percent(comparison.change_ratio) if changed else "-",
        _interval(comparison) if changed else "-",
        p_value,
        could_see(comparison),
        verdict,
    )


def _passed_row(comparison: GateComparison, label: str = "") -> tuple[str, ...]:
    return (
        _name(comparison) + label,
        _percent(comparison.change_ratio),
        _interval(comparison),
        could_see(comparison),
    )


def sections(report: GateReport) -> list[Section]:
    """The tables in the order they are kept: regressions, cannot judge, improvements, new/dropped, passed."""
    by_outcome: dict[GateOutcome, list[GateComparison]] = {outcome: [] for outcome in GateOutcome}
    moved = [c for c in report.comparisons if c.presence != "both"]
    for comparison in report.comparisons:
        if comparison.presence == "both":
            by_outcome[comparison.outcome].append(comparison)
    worst_first = sorted(by_outcome[GateOutcome.REGRESSION], key=lambda c: -c.change_ratio)
    improved = sorted(by_outcome[GateOutcome.IMPROVEMENT], key=lambda c: c.change_ratio)
    passed = sorted(by_outcome[GateOutcome.PASS], key=lambda c: -c.change_ratio)
    matters = [
        ("Regressions", "", worst_first),
        ("Cannot judge", "", by_outcome[GateOutcome.CANNOT_JUDGE]),
        ("Improvements", "", improved),
        ("New and dropped", "In one build only: nothing to compare.", moved),
    ]
    result = [
        Section(title, intro, _MATTERS, tuple(_matters_row(c, evidence_label(report, c)) for c in rows))
        for title, intro, rows in matters
        if rows
    ]
    if passed:
        intro = (
            "Why not significant: each passed, and *could have seen* is the smallest slowdown this run would "
            "have caught at 95% power (from its own rounds, its minimum effect and calibrated noise floor), "
            "so a pass means nothing above that figure happened here. Closest to failing first."
        )
        header = ("comparison", "change", "interval", "could have seen")
        result.append(
            Section("Passed", intro, header, tuple(_passed_row(c, evidence_label(report, c)) for c in passed))
        )
    return result


def _section_lines(section: Section) -> list[str]:
    lines = ["", f"## {section.title}", ""]
    if section.intro:
        lines += [section.intro, ""]
    return [*lines, _table_line(section.header), "|" + "---|" * len(section.header)]


def _size(lines: Sequence[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _fill(lines: list[str], parts: Sequence[Section], budget: int) -> int:
    """Append each section's rows while they fit in ``budget`` bytes; return how many rows were left out."""
    left_out = 0
    for section in parts:
        opening = _section_lines(section)
        if left_out or _size(lines) + _size(opening) + _size([_table_line(section.rows[0])]) > budget:
            left_out += len(section.rows)
            continue
        lines += opening
        for position, row in enumerate(section.rows):
            line = _table_line(row)
            if _size(lines) + _size([line]) > budget:
                left_out += len(section.rows) - position
                break
            lines.append(line)
    return left_out


def render_summary(report: GateReport, *, limit_bytes: int, marker: str = "") -> str:
    """The summary, at most ``limit_bytes`` of UTF-8, cut section by section in order of importance."""
    exit_code = report.exit_code
    verdict = "fails" if exit_code in {ExitCode.REGRESSION, ExitCode.USAGE_OR_TOOL_ERROR} else "passes"
    lines = [marker] if marker else []
    lines += [
        f"## Regression gate: {headline(report)}",  # the first line a reviewer sees says it all
        "",
        f"{count(report.comparisons).line()}. Exit {int(exit_code)} ({verdict} CI). Base `{report.base}`, "
        f"head `{report.candidate}`, {report.mode} mode, {report.duration_seconds:.0f} s.",
        "",
        *environment_lines(report),
    ]
    why = report.why_cannot_judge
    if why is not None:
        lines += ["", f"Cannot judge: reason `{why.code}` (side: {why.code.side}): {why.detail}"]
    lines += stage2_lines(report)
    if report.profiles:
        lines += ["", "Differential profiles of the regressions (what grew, base against head):"]
        lines += [f"- [`{key}`]({path})" for key, path in sorted(report.profiles.items())]
    lines += floor_drift_lines(report.floor_drift)  # short (one row per drifted Rust workload): never cut
    left_out = _fill(lines, sections(report), limit_bytes - _FOOTER_RESERVE_BYTES)
    footer = [f"- {note}" for note in report.notes] if left_out == 0 else []
    if left_out:
        footer = [
            f"*{left_out} more rows are not shown here (size limit); the full results: {FULL_RESULTS_HINT}.*"
        ]
    if _size(lines) + _size(["", *footer]) <= limit_bytes:
        lines += ["", *footer]
    return "\n".join(lines) + "\n"


def summaries(report: GateReport) -> Mapping[str, str]:
    """File name -> text: the job summary and the PR comment."""
    return {
        "gate-summary.md": render_summary(report, limit_bytes=JOB_SUMMARY_LIMIT_BYTES),
        "gate-comment.md": render_summary(report, limit_bytes=COMMENT_LIMIT_BYTES, marker=COMMENT_MARKER),
    }
