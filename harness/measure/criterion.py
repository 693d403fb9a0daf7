"""The Rust functions timed without Python: run the Criterion benches and read their estimates.

``cargo bench --no-default-features --bench functions`` builds the crate without PyO3 and times the pure Rust
logic. Criterion writes one ``<target>/criterion/<bench path>/new/estimates.json`` per benchmark, next to a
``benchmark.json`` holding the benchmark's ``full_id``. The bench ids in ``native/benches/functions.rs`` are
named ``"<function>/<workload id>"`` with the registry's workload ids, so ``full_id`` is the key the report
uses to pair each Criterion time with the PyO3 time of the same function and workload.

The harness's times are per call. A bench that times a whole batch of calls per iteration (``format_float``
over 1000 values, say) declares ``Throughput::Elements(batch_length)``; its median is then divided by that
count, so every returned figure is the time of one call.

Only estimates written by this run are read: stale folders of benches that no longer exist are ignored.
``run_bench_target`` runs any bench target of the crate this way and keeps each median's interval too; the
physical floors (``harness.measure.floors``, target ``floors``) use it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.processes import run_bounded
from harness.results import NativeEstimate

NATIVE_DIR = Path(__file__).resolve().parents[2] / "native"
BENCH_TARGET = "functions"

# (warm-up seconds, measurement seconds, samples) per benchmark. Criterion's defaults (3 s, 5 s, 100) would
# take minutes for a few dozen benches; the report needs a median, not Criterion's change detection.
QUICK_SETTINGS = (0.3, 1.0, 20)
DEFAULT_SETTINGS = (1.0, 3.0, 50)
_CARGO_TIMEOUT_S = 3600.0


class CriterionError(RuntimeError):
    """The Criterion benches could not be run or read (no cargo, build failure, no estimates)."""


def run_criterion(quick: bool, native_dir: Path = NATIVE_DIR) -> dict[str, float]:
    """Run the Criterion benches and return ``"function/workload"`` -> median time in ns.

    Raises ``CriterionError`` with the reason (and the tail of cargo's output) when anything fails, so the
    caller can report it and keep the rest of the run.
    """
    estimates = run_bench_target(BENCH_TARGET, quick, native_dir)
    return {bench_id: estimate.median_ns for bench_id, estimate in estimates.items()}


def build_bench_targets(targets: Sequence[str], native_dir: Path = NATIVE_DIR) -> None:
    """Build the bench targets in one ``cargo bench --no-run``, before any of them runs.

    Built one at a time, each fat-LTO link waited for the other: together they took 39 s here against 69 s
    (the lib crate changed, 2-core machine), and a fresh clone builds both. Raises ``CriterionError``; the
    run of each target would report the same failure.
    """
    arguments = ["--no-run"]
    for target in targets:
        arguments += ["--bench", target]
    _run_cargo_bench(arguments, native_dir, what="building the Rust benches")


def _run_cargo_bench(
    arguments: Sequence[str], native_dir: Path, *, what: str, env: Mapping[str, str] | None = None
) -> None:
    """``cargo bench --no-default-features <arguments>`` in ``native_dir``; any failure a ``CriterionError``
    naming ``what`` failed, with the tail of cargo's output."""
    cargo = shutil.which("cargo")
    if cargo is None:
        raise CriterionError(f"cargo is not on PATH: {what} cannot run")
    command = [cargo, "bench", "--no-default-features", *arguments]
    try:
        completed = run_bounded(
            command,
            cwd=native_dir,
            timeout_s=_CARGO_TIMEOUT_S,
            environment={**os.environ, **env} if env else None,
        )
    except subprocess.TimeoutExpired as error:
        raise CriterionError(
            f"{what}: cargo bench took over {_CARGO_TIMEOUT_S:.0f} s and was stopped"
        ) from error
    except OSError as error:
        raise CriterionError(f"{what}: cargo bench could not start in {native_dir}: {error}") from error
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        raise CriterionError(f"{what}: cargo bench failed (exit {completed.returncode}):\n{tail}")


def run_bench_target(
    target: str,
    quick: bool,
    native_dir: Path = NATIVE_DIR,
    env: Mapping[str, str] | None = None,
    criterion_dir: Path | None = None,
) -> dict[str, NativeEstimate]:
    """Run ``cargo bench --bench <target>`` and return each bench's per-call median with its interval.

    ``env`` is added to the environment; ``criterion_dir`` is where the target writes its estimates
    (default: Cargo's ``target/criterion``). Raises ``CriterionError`` as ``run_criterion`` does.
    """
    warm_up_s, measurement_s, samples = QUICK_SETTINGS if quick else DEFAULT_SETTINGS
    settings = ["--warm-up-time", str(warm_up_s), "--measurement-time", str(measurement_s)]
    arguments = ["--bench", target, "--", "--noplot", *settings, "--sample-size", str(samples)]
    # Estimates older than this run are leftovers. A little slack for coarse file-system timestamps.
    started_at_s = time.time() - 2.0
    _run_cargo_bench(arguments, native_dir, what=f"the {target} bench", env=env)
    if criterion_dir is None:
        criterion_dir = target_directory(native_dir) / "criterion"
    estimates = read_estimate_intervals(criterion_dir, newer_than_unix_s=started_at_s)
    if not estimates:
        raise CriterionError(f"cargo bench ran but wrote no estimates under {criterion_dir}")
    return estimates


def target_directory(native_dir: Path) -> Path:
    """Cargo's target directory for the crate (honours CARGO_TARGET_DIR and .cargo/config)."""
    cargo = shutil.which("cargo")
    if cargo is not None:
        completed = subprocess.run(
            [cargo, "metadata", "--format-version", "1", "--no-deps"],
            cwd=native_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if completed.returncode == 0:
            return Path(json.loads(completed.stdout)["target_directory"])
    return Path(os.environ.get("CARGO_TARGET_DIR", native_dir / "target"))


def read_estimates(criterion_dir: Path, newer_than_unix_s: float = 0.0) -> dict[str, float]:
    """``full_id`` -> median point estimate (ns) of every ``new/estimates.json`` under ``criterion_dir``.

    Files last written before ``newer_than_unix_s`` are skipped. A malformed file raises ``CriterionError``
    naming it.
    """
    estimates = read_estimate_intervals(criterion_dir, newer_than_unix_s)
    return {bench_id: estimate.median_ns for bench_id, estimate in estimates.items()}


def read_estimate_intervals(criterion_dir: Path, newer_than_unix_s: float = 0.0) -> dict[str, NativeEstimate]:
    """As ``read_estimates``, with the 95% interval Criterion gives each median (per call too)."""
    estimates_by_id: dict[str, NativeEstimate] = {}
    for estimates_path in sorted(criterion_dir.glob("**/new/estimates.json")):
        if estimates_path.stat().st_mtime < newer_than_unix_s:
            continue
        benchmark_path = estimates_path.with_name("benchmark.json")
        try:
            estimates: dict[str, Any] = json.loads(estimates_path.read_text(encoding="utf-8"))
            median = estimates["median"]
            interval = median.get("confidence_interval") or {}
            median_ns = float(median["point_estimate"])
            benchmark: dict[str, Any] = (
                json.loads(benchmark_path.read_text(encoding="utf-8")) if benchmark_path.exists() else {}
            )
            bench_id = str(
                benchmark.get("full_id") or estimates_path.parent.parent.relative_to(criterion_dir).as_posix()
            )
            calls = _elements_per_iteration(benchmark.get("throughput"))
            # An interval that misses its point estimate (rare, from rounding) is widened to hold it.
            estimate = NativeEstimate(
                median_ns=median_ns / calls,
                ci_low_ns=min(float(interval.get("lower_bound", median_ns)), median_ns) / calls,
                ci_high_ns=max(float(interval.get("upper_bound", median_ns)), median_ns) / calls,
            )
        except (OSError, KeyError, TypeError, ValueError, AttributeError) as error:
            raise CriterionError(f"cannot read Criterion estimate {estimates_path}: {error}") from error
        estimates_by_id[bench_id] = estimate
    return estimates_by_id


def _elements_per_iteration(throughput: object) -> int:
    """The ``Throughput::Elements`` count of a bench (calls per iteration), 1 if it declares none.

    benchmark.json stores it as ``{"Elements": n}`` (or ``{"ElementsAndBytes": {"elements": n, ...}}``).
    """
    if not isinstance(throughput, dict):
        return 1
    if "Elements" in throughput:
        elements = int(throughput["Elements"])
    elif "ElementsAndBytes" in throughput:
        elements = int(throughput["ElementsAndBytes"]["elements"])
    else:
        return 1  # Bytes throughput: one call per iteration over that many bytes
    if elements < 1:
        raise ValueError(f"throughput of {elements} elements per iteration")
    return elements
