"""A differential profile of every flagged regression: what grew, on both builds, in one file per comparison.

Only regressions are profiled, so a passing gate costs nothing extra. Each build runs the regressed workload
in its own interpreter (its own ``harness`` and ``sky_rs``), through the same registry call the timing worker
makes, under two profilers:

* **callgrind** (instructions; deterministic, so a neighbour's load cannot invent a grower): the functions
  whose instruction counts grew most, inclusive and self, from ``callgrind_annotate``. For a Rust-side
  regression this names the Rust functions; for a Python-side one, the interpreter's C functions;
* **cProfile** (Python functions, time): the functions whose own time and cumulative time per call grew most,
  matched between the two trees by their path inside the tree. cProfile rather than pyinstrument or py-spy:
  it is in the standard library of every build's Python (an old base needs nothing installed), and it
  counts calls exactly, which a sampling profiler cannot at a few microseconds per call.

The result, ``profiles/<function>--<side>--<workload>.md`` in the gate's output folder, lists the top growers
(base, head, growth) and says so when nothing grew beyond noise. The raw profiles are kept beside it.
"""

from __future__ import annotations

import os
import pstats
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.atomic import write_text_atomic
from harness.gate.build import BUILD_REGISTRY_IMPORTS, Build
from harness.processes import run_bounded
from harness.results import GateComparison

PROFILED_METRICS = frozenset({"time", "alloc_bytes"})
# Passes over the workload's batch per build: enough for cProfile to see microseconds; callgrind counts
# exactly (and runs some 50x slower), so a few passes do.
CPROFILE_PASSES = 200
CALLGRIND_PASSES = 3
TOP_GROWERS = 12
_TIMEOUT_S = 900.0
# A grower must account for at least this share of the base's total to be shown (else it is noise).
_NOISE_SHARE = 0.01
_ANNOTATE_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$")

# Runs in the profiled build's interpreter: argv = function, impl, workload, scratch, calls, mode, out file.
_DRIVER = (
    r"""
import cProfile, functools, sys
from pathlib import Path
function, impl, workload, scratch, calls, mode, out = sys.argv[1:8]
from harness.results import Impl
"""
    + BUILD_REGISTRY_IMPORTS
    + r"""
prepared = prepare(find_workload(function, workload), Path(scratch), 0)
target = resolve_callable(function, Impl(impl))
call_one = prepared.adapter(target) if prepared.adapter else target
batch = prepared.batch
def call():
    for arguments in batch:
        call_one(*arguments)
call()  # lazy imports, caches, page faults of the data: not what changed
if mode == "cprofile":
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(int(calls)):
        call()
    profiler.disable()
    profiler.dump_stats(out)
else:
    functools.reduce(lambda accumulator, _: call(), range(int(calls)), None)
print(len(batch) * int(calls))
"""
)


class ProfileError(RuntimeError):
    """A profiler is missing or a build's profiling run failed: reported in the profile file, never fatal."""


@dataclass(frozen=True)
class Grower:
    name: str
    base: float
    head: float

    @property
    def growth(self) -> float:
        return self.head - self.base


def profile_name(comparison: GateComparison) -> str:
    raw = f"{comparison.function}--{comparison.impl}--{comparison.workload}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw) + ".md"


def _run_driver(build: Build, comparison: GateComparison, scratch: Path, mode: str, out: Path) -> int:
    """Run the driver in ``build``; returns the number of single calls profiled."""
    driver = ["-c", _DRIVER, comparison.function, str(comparison.impl), comparison.workload]
    passes = CALLGRIND_PASSES if mode == "callgrind" else CPROFILE_PASSES
    arguments = [*driver, str(scratch), str(passes), mode, str(out)]
    command = [str(build.python), *arguments]
    if mode == "callgrind":
        valgrind = shutil.which("valgrind")
        if valgrind is None:
            raise ProfileError("valgrind is not installed: no instruction profile")
        command = [
            valgrind, "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=functools_reduce",
            f"--callgrind-out-file={out}", *command,
        ]  # fmt: skip
    try:
        environment = {**os.environ, "PYTHONHASHSEED": "0"}
        completed = run_bounded(command, cwd=build.tree, environment=environment, timeout_s=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ProfileError(f"{mode} on the {build.label} build: {error}") from error
    if completed.returncode != 0:
        raise ProfileError(f"{mode} on the {build.label} build failed: {completed.stderr.strip()[-500:]}")
    return int(completed.stdout.strip().splitlines()[-1])


def read_callgrind(path: Path, *, inclusive: bool) -> dict[str, float]:
    """Function -> instructions (Ir), from ``callgrind_annotate`` (inclusive or self)."""
    annotate = shutil.which("callgrind_annotate")
    if annotate is None:
        raise ProfileError("callgrind_annotate is not installed")
    command = [annotate, f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", str(path)]
    try:
        completed = run_bounded(command, timeout_s=_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ProfileError(f"callgrind_annotate: {error}") from error
    counts: dict[str, float] = {}
    for line in completed.stdout.splitlines():
        match = _ANNOTATE_LINE.match(line)
        if match and ":" in match.group(2) and "PROGRAM TOTALS" not in line:
            where, _, function = match.group(2).split(" [", 1)[0].rpartition(":")
            name = f"{Path(where).name}:{function}"  # the build's own paths say nothing to a reader
            counts[name] = counts.get(name, 0.0) + float(match.group(1).replace(",", ""))
    return counts


def read_cprofile(path: Path, tree: Path, *, cumulative: bool) -> dict[str, float]:
    """Function (path inside the tree:line(name)) -> seconds, own or cumulative."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    root = str(tree.resolve()) + os.sep
    times: dict[str, float] = {}
    for (filename, line, function), (_, _, own_s, cumulative_s, _) in stats.items():
        where = filename.removeprefix(root)
        name = f"{where}:{line}({function})" if filename != "~" else function
        times[name] = times.get(name, 0.0) + (cumulative_s if cumulative else own_s)
    return times


def top_growers(
    base: Mapping[str, float], head: Mapping[str, float], per_call: tuple[int, int]
) -> list[Grower]:
    """The functions that grew most per call, above 1% of the base's largest entry (else noise)."""
    base_calls, head_calls = per_call
    names = set(base) | set(head)
    growers = [Grower(n, base.get(n, 0.0) / base_calls, head.get(n, 0.0) / head_calls) for n in names]
    scale = max((g.base for g in growers), default=0.0) or max((g.head for g in growers), default=1.0)
    shown = [g for g in growers if g.growth > _NOISE_SHARE * scale]
    return sorted(shown, key=lambda g: -g.growth)[:TOP_GROWERS]


def _table(title: str, growers: Sequence[Grower], unit: str, scale: float) -> list[str]:
    lines = [f"### {title}", ""]
    if not growers:
        return [*lines, "Nothing grew beyond noise (1% of the largest entry) in this profile.", ""]
    lines += [f"| function | base ({unit}/call) | head ({unit}/call) | growth |", "|---|---|---|---|"]
    for grower in growers:
        name = grower.name.replace("|", "\\|")
        base, head, growth = grower.base * scale, grower.head * scale, grower.growth * scale
        lines.append(f"| `{name}` | {base:,.1f} | {head:,.1f} | +{growth:,.1f} |")
    return [*lines, ""]


@dataclass(frozen=True)
class _Profiler:
    """One profiler's part of the file: how to run it, and its two views of what grew."""

    mode: str  # the driver's mode: "callgrind" or "cprofile"
    suffix: str  # of the raw file kept beside the profile
    heading: str
    unit: str
    scale: float  # per-call figures times this, in ``unit``
    views: tuple[tuple[str, bool], ...]  # (title, the reader's flag: inclusive / cumulative)

    def read(self, path: Path, build: Build, whole: bool) -> dict[str, float]:
        if self.mode == "callgrind":
            return read_callgrind(path, inclusive=whole)
        return read_cprofile(path, build.tree, cumulative=whole)


PROFILERS = (
    _Profiler(
        "callgrind", "callgrind", "Instructions (callgrind)", "instructions", 1.0,
        (("Inclusive: the function and what it calls", True), ("Self", False)),
    ),
    _Profiler(
        "cprofile", "pstats", "Python functions (cProfile, time)", "ns", 1e9,
        (("Own time", False), ("Cumulative time", True)),
    ),
)  # fmt: skip


def _section(
    profiler: _Profiler, builds: tuple[Build, Build], comparison: GateComparison, folder: Path, scratch: Path
) -> list[str]:
    stem = profile_name(comparison).removesuffix(".md")
    outs = [folder / f"{stem}.{build.label}.{profiler.suffix}" for build in builds]
    per_call = (
        _run_driver(builds[0], comparison, scratch, profiler.mode, outs[0]),
        _run_driver(builds[1], comparison, scratch, profiler.mode, outs[1]),
    )
    lines = [f"## {profiler.heading}", ""]
    for title, whole in profiler.views:
        base, head = (profiler.read(out, build, whole) for out, build in zip(outs, builds, strict=True))
        lines += _table(title, top_growers(base, head, per_call), profiler.unit, profiler.scale)
    return lines


def profile_regression(
    base: Build, head: Build, comparison: GateComparison, folder: Path, scratch: Path
) -> Path:
    """Write the differential profile of one regressed comparison; a failing profiler is said, not raised."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Differential profile: {comparison.function} ({comparison.impl}) {comparison.workload}",
        "",
        f"The gate measured {(comparison.change_ratio - 1) * 100:+.1f}% ({comparison.metric}). Both builds "
        f"ran the workload's batch {CALLGRIND_PASSES} times under callgrind and {CPROFILE_PASSES} under "
        "cProfile; figures are per single call. "
        "Growth = head - base; the largest growers first.",
        "",
    ]
    for profiler in PROFILERS:
        try:
            lines += _section(profiler, (base, head), comparison, folder, scratch)
        except ProfileError as error:
            lines += [f"Not profiled: {error}", ""]
    path = folder / profile_name(comparison)
    write_text_atomic(path, "\n".join(lines))
    return path
