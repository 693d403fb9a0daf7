"""The physical floors: run the floor benches (``native/benches/floors.rs``) on the run's own workloads.

A floor is the least work a function's semantics require on one workload, done in Rust with no Python and
no waste (docs/floors.md). The bench reads its inputs from files this module writes: one
``<function>[<workload>].tsv`` per workload under ``<scratch>/floor-inputs``, one call per line, its arguments
tab-separated, the paths those of the generated workload data. Only workloads with a file are benched, so a
run measures the floors of the pairs it times. Ports that ``find_free_port`` must find taken are held by this
process while the bench runs, as the timing workers hold them.

Criterion is run and read by ``harness.measure.criterion`` (target ``floors``); its estimates go to their own
folder,
``<target>/criterion-floors``, since the bench ids are the functions bench's.

A Rust bench cannot create the Python objects a call returns (the ``str`` of the string functions, the list
of ``str`` of ``read_last_n_lines``). ``measure_result_objects`` times them in a timing worker
(``sky_rs._build_result_objects`` creates the Rust side's results of the workload anew, with no call around
them) and ``with_result_objects`` adds that time per call to each Criterion floor.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from harness.functions.pairs.workload_types import PreparedWorkload, Workload, prepare
from harness.measure.criterion import NATIVE_DIR, CriterionError, run_bench_target, target_directory
from harness.measure.worker_client import WorkerClient
from harness.results import NativeEstimate
from harness.stats import median_interval

FLOOR_TARGET = "floors"
INPUTS_DIRNAME = "floor-inputs"
INPUTS_ENV = "SKYBENCH_FLOOR_INPUTS"
ONCE_ENV = "SKYBENCH_FLOOR_ONCE"  # run one floor once between two markers (the system-call test)
CRITERION_DIRNAME = "criterion-floors"
_BUILD_TIMEOUT_S = 1800.0
# Creating objects is steady (spread ~1% here): 7 values of 10 ms each per workload, a few seconds in all.
RESULT_OBJECT_VALUES = 7
RESULT_OBJECT_MIN_TIME_S = 0.01


class FloorError(CriterionError):
    """A floor input cannot be written, or the floor bench cannot be built or run."""


def _field(value: object) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    if "\t" in text or "\n" in text:
        raise FloorError(f"floor input {text[:40]!r} holds a tab or a newline")
    return text


def _call_fields(function: str, args: Sequence[Any]) -> list[str]:
    """The arguments of one call as the floor bench reads them (floors.rs, ``floor_for``)."""
    if function == "get_max_workers_for_file_mounts":
        return [_field(source) for source in args[0].values()]  # the mounts' sources
    if function == "is_process_alive" and args[0] == os.getpid():
        return ["self"]  # the worker's own pid: the bench process's own
    if function == "get_parallel_threads":
        return ["" if args[0] is None else _field(args[0])]
    if function in ("get_cpu_count", "get_mem_size_gb"):
        return ["-"]
    return [_field(arg) for arg in args]


def input_filename(function: str, workload_id: str) -> str:
    return f"{function}[{workload_id}].tsv"


def write_inputs(prepared: Iterable[tuple[Workload, PreparedWorkload]], directory: Path) -> list[str]:
    """Replace the inputs in ``directory`` with those of ``prepared``; returns the floor ids written.

    Each file is written under a temporary name and renamed, so the bench never reads half a file.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    ids: list[str] = []
    for workload, arguments in prepared:
        lines = ["\t".join(_call_fields(workload.function, args)) for args in arguments.batch]
        path = directory / input_filename(workload.function, workload.id)
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(handle.name, path)
        ids.append(f"{workload.function}/{workload.id}")
    return ids


@contextmanager
def prepared_inputs(workloads: Iterable[Workload], scratch: Path, seed: int) -> Iterator[Path]:
    """Writes the floor inputs of ``workloads`` and holds what they need (ports) until the block ends."""
    directory = scratch / INPUTS_DIRNAME
    with ExitStack() as stack:
        prepared: list[tuple[Workload, PreparedWorkload]] = []
        for workload in workloads:
            arguments = prepare(workload, scratch, seed)
            stack.callback(arguments.close)
            prepared.append((workload, arguments))
        write_inputs(prepared, directory)
        yield directory


def run_floors(
    workloads: Iterable[Workload], scratch: Path, seed: int, quick: bool, native_dir: Path = NATIVE_DIR
) -> dict[str, NativeEstimate]:
    """``"function/workload"`` -> the floor per call with its interval. Raises ``CriterionError``."""
    criterion_dir = target_directory(native_dir) / CRITERION_DIRNAME
    with prepared_inputs(workloads, scratch, seed) as directory:
        env = {INPUTS_ENV: str(directory.resolve()), "CRITERION_HOME": str(criterion_dir)}
        return run_bench_target(FLOOR_TARGET, quick, native_dir, env=env, criterion_dir=criterion_dir)


def build_floor_binary(native_dir: Path = NATIVE_DIR) -> Path:
    """Builds the floor bench without running it and returns its executable."""
    cargo = shutil.which("cargo")
    if cargo is None:
        raise FloorError("cargo is not on PATH: the floor bench cannot be built")
    command = [cargo, "bench", "--no-default-features", "--bench", FLOOR_TARGET, "--no-run"]
    completed = subprocess.run(
        [*command, "--message-format=json"],
        cwd=native_dir,
        capture_output=True,
        text=True,
        timeout=_BUILD_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise FloorError(f"building the floor bench failed (exit {completed.returncode}):\n{tail}")
    for line in completed.stdout.splitlines():
        message = json.loads(line) if line.startswith("{") else {}
        if message.get("target", {}).get("name") == FLOOR_TARGET and message.get("executable"):
            return Path(message["executable"])
    raise FloorError("cargo built the floor bench but named no executable")


def measure_result_objects(client: WorkerClient, keys: Iterable[str]) -> dict[str, NativeEstimate]:
    """``"function/workload"`` -> the time per call to create the Rust side's result objects anew (a workload
    whose results need no new object is left out).

    Raises the ``WorkerError`` of a workload the worker cannot serve (a Rust module without the helper).
    """
    estimates: dict[str, NativeEstimate] = {}
    for key in keys:
        function, workload = key.split("/", 1)
        response = client.result_objects(
            function, workload, values=RESULT_OBJECT_VALUES, warmups=1, min_time_s=RESULT_OBJECT_MIN_TIME_S
        )
        if not any(response.values_ns):
            continue  # nothing to create (bools, None, the arguments): the floor is the Criterion floor alone
        low_ns, high_ns = median_interval(response.values_ns)
        estimates[key] = NativeEstimate(statistics.median(response.values_ns), low_ns, high_ns)
    return estimates


def with_result_objects(
    floors: Mapping[str, NativeEstimate], objects: Mapping[str, NativeEstimate]
) -> dict[str, NativeEstimate]:
    """Each floor plus its result objects (median and both ends added: the two are measured apart)."""
    combined = dict(floors)
    for key, extra in objects.items():
        floor = floors.get(key)
        if floor is not None:
            combined[key] = NativeEstimate(
                floor.median_ns + extra.median_ns,
                floor.ci_low_ns + extra.ci_low_ns,
                floor.ci_high_ns + extra.ci_high_ns,
            )
    return combined
