"""Instruction counts per call under valgrind's callgrind: results that do not depend on the neighbours' load.

``perf stat -e instructions`` is not available on this machine (the counter is "<not supported>" in the VM),
so callgrind it is. How one process measures many workloads precisely:

* callgrind starts with collection off (``--collect-atstart=no``) and toggles it on entry to and exit from
  the C function ``functools_reduce`` (``--toggle-collect``), which CPython 3.11 exports as a local symbol.
  The driver runs each workload's K calls inside one ``functools.reduce``, so only those calls are counted
  (not the interpreter start, the imports or the data generation);
* ``--dump-after=functools_reduce`` writes one profile part per reduce, so each part holds the instructions
  of exactly one loop;
* each workload is measured twice: an empty loop (the same reduce with a step that calls nothing) and the
  real loop; (real - empty) / K is the instructions of one call, the loop's own overhead removed.

The counts are deterministic on one machine (same binary, PYTHONHASHSEED fixed): two runs of the same build
agree to the instruction, so the threshold can be far tighter than wall time's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.gate.build import BUILD_REGISTRY_IMPORTS
from harness.gate.compare import judge_deterministic
from harness.gate.outcome import cannot_judge_comparison
from harness.processes import run_bounded
from harness.results import GateComparison, Impl

DEFAULT_CALLS = 5  # passes over the workload's batch; the counts are deterministic, so few suffice
REGISTRY_FACTORY = ""  # the driver's own: the registry's workload, as the timing worker calls it
_TOGGLE_FUNCTION = "functools_reduce"
_TIMEOUT_S = 1800.0
_TOTALS = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)
_PART = re.compile(r"^part:\s*(\d+)", re.MULTILINE)

# Runs inside the measured build's interpreter (python -c), so it may only use that build's modules.
# argv: factory "module:attr" ("" = the registry's call), calls, scratch, jobs JSON. One JSON line per job.
_DRIVER = (
    r"""
import functools, importlib, json, sys
from pathlib import Path
calls = int(sys.argv[2]); scratch = Path(sys.argv[3]); jobs = json.loads(sys.argv[4])
from harness.results import Impl
"""
    + BUILD_REGISTRY_IMPORTS
    + r"""
def registry_factory(function, impl, workload, scratch):
    # The timing worker's call, rebuilt from the registry of the build being measured.
    prepared = prepare(find_workload(function, workload), scratch, 0)
    target = resolve_callable(function, impl)
    function_to_call = prepared.adapter(target) if prepared.adapter else target
    batch = prepared.batch
    def call():
        for arguments in batch:
            function_to_call(*arguments)
    call.batch_length = len(batch)
    return call

if sys.argv[1]:
    module_name, _, attribute = sys.argv[1].partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
else:
    factory = registry_factory
def empty_step(accumulator, _):
    return None
for job in jobs:
    record = {"key": job["key"], "loops": 0, "batch_length": 1}
    try:
        call = factory(job["function"], Impl(job["impl"]), job["workload"], scratch)
        record["batch_length"] = getattr(call, "batch_length", 1)
        call()  # first call outside the count: lazy imports, caches, page faults of the data
        functools.reduce(empty_step, range(calls), None)
        record["loops"] = 1
        functools.reduce(lambda accumulator, _: call(), range(calls), None)
        record["loops"] = 2
    except Exception as error:
        record["error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(record), flush=True)
"""
)


class InstructionCountError(RuntimeError):
    """callgrind is missing or the measuring process failed: a tool error (exit 2)."""


@dataclass(frozen=True)
class InstructionJob:
    function: str
    impl: Impl
    workload: str

    @property
    def key(self) -> str:
        return f"{self.function}/{self.impl}/{self.workload}"


@dataclass(frozen=True)
class InstructionCount:
    job: InstructionJob
    instructions_per_call: float | None  # None when the call failed
    error: str = ""


def valgrind_path() -> Path:
    found = shutil.which("valgrind")
    if found is None:
        raise InstructionCountError(
            "valgrind is not installed (apt-get install valgrind); --instructions needs it"
        )
    return Path(found)


def count_instructions(
    python: Path,
    jobs: Sequence[InstructionJob],
    *,
    cwd: Path,
    scratch: Path,
    calls: int = DEFAULT_CALLS,
    factory: str = REGISTRY_FACTORY,
    extra_environment: Mapping[str, str] | None = None,
) -> list[InstructionCount]:
    """Instructions per call of each job, measured by ``python`` (one build) in one callgrind process."""
    if calls < 1:
        raise ValueError(f"calls must be >= 1, got {calls}")
    if not jobs:
        return []
    with tempfile.TemporaryDirectory(prefix="skybench-callgrind-") as out_dir:
        out_file = Path(out_dir) / "callgrind.out"
        command = [
            str(valgrind_path()),
            "--tool=callgrind",
            "--collect-atstart=no",
            f"--toggle-collect={_TOGGLE_FUNCTION}",
            f"--dump-after={_TOGGLE_FUNCTION}",
            "--dump-instr=no",
            "--compress-strings=no",
            f"--callgrind-out-file={out_file}",
            str(python),
            "-c",
            _DRIVER,
            factory,
            str(calls),
            str(scratch),
            json.dumps(
                [
                    {"key": j.key, "function": j.function, "impl": str(j.impl), "workload": j.workload}
                    for j in jobs
                ]
            ),
        ]
        environment = {**os.environ, "PYTHONHASHSEED": "0", **(extra_environment or {})}
        try:
            completed = run_bounded(command, cwd=cwd, environment=environment, timeout_s=_TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            raise InstructionCountError(f"callgrind run of {python} took over {_TIMEOUT_S:.0f} s") from error
        if completed.returncode != 0:
            raise InstructionCountError(
                f"callgrind run of {python} failed (exit {completed.returncode}): "
                + completed.stderr.strip()[-800:]
            )
        loop_totals = _read_parts(Path(out_dir))
    return _per_call_counts(jobs, completed.stdout, loop_totals, calls)


def _read_parts(out_dir: Path) -> list[int]:
    """Instruction totals of each dumped part (one per reduce call), in part order."""
    parts: list[tuple[int, int]] = []
    for path in out_dir.glob("callgrind.out.*"):
        text = path.read_text(encoding="utf-8", errors="replace")
        part, total = _PART.search(text), _TOTALS.search(text)
        if part is None or total is None:
            raise InstructionCountError(f"unreadable callgrind output {path.name}")
        parts.append((int(part.group(1)), int(total.group(1))))
    return [total for _, total in sorted(parts)]


def _per_call_counts(
    jobs: Sequence[InstructionJob], driver_stdout: str, loop_totals: list[int], calls: int
) -> list[InstructionCount]:
    records = [json.loads(line) for line in driver_stdout.splitlines() if line.startswith("{")]
    if len(records) != len(jobs):
        raise InstructionCountError(f"the driver reported {len(records)} of {len(jobs)} jobs")
    if sum(record["loops"] for record in records) != len(loop_totals):
        raise InstructionCountError(
            f"callgrind dumped {len(loop_totals)} loops, the driver ran {sum(r['loops'] for r in records)}"
        )
    results: list[InstructionCount] = []
    position = 0
    for job, record in zip(jobs, records, strict=True):
        loops = loop_totals[position : position + record["loops"]]
        position += record["loops"]
        if "error" in record or len(loops) != 2:
            results.append(InstructionCount(job, None, record.get("error", "incomplete")))
            continue
        empty_total, real_total = loops
        calls_per_loop = calls * max(1, int(record["batch_length"]))
        results.append(InstructionCount(job, max(0.0, (real_total - empty_total) / calls_per_loop)))
    return results


def judge_instructions(
    base: Sequence[InstructionCount], candidate: Sequence[InstructionCount], *, relative_threshold: float
) -> list[GateComparison]:
    """One verdict per job measured on both builds: fail above ``relative_threshold`` growth."""
    base_by_key = {count.job.key: count for count in base}
    verdicts: list[GateComparison] = []
    for count in candidate:
        job = count.job
        base_count = base_by_key.get(job.key)
        if (
            base_count is None
            or base_count.instructions_per_call is None
            or count.instructions_per_call is None
        ):
            reason = (
                "not measured on the base"
                if base_count is None
                else (base_count.error or count.error or "a side failed")
            )
            verdicts.append(
                cannot_judge_comparison(job.function, job.impl, job.workload, "instructions", reason)
            )
            continue
        verdicts.append(
            judge_deterministic(
                function=job.function,
                impl=job.impl,
                workload=job.workload,
                metric="instructions",
                base_value=base_count.instructions_per_call,
                candidate_value=count.instructions_per_call,
                relative_threshold=relative_threshold,
                unit=" instr",
            )
        )
    return verdicts
