"""A small, fully populated ``RunResult`` for the telemetry tests: every field a metric reads is set."""

from __future__ import annotations

import time
from collections.abc import Sequence

from harness.functions.registry import FUNCTIONS as REGISTRY_FUNCTIONS
from harness.gate.outcome import GateReport
from harness.results import (
    DIRECT_IMPLS,
    GateComparison,
    GateOutcome,
    Impl,
    MemorySample,
    PairResult,
    RunKind,
    RunResult,
    Speedup,
    TimingSample,
    Verdict,
)
from harness.stats import with_fallback

FUNCTIONS = REGISTRY_FUNCTIONS
WORKLOAD = "small"
MACHINE = "synthetic-machine"


def _timing(function: str, impl: Impl, base_ns: float) -> TimingSample:
    # Sub-microsecond fractions on purpose: they must survive every transport.
    values = tuple(base_ns * factor for factor in (1.0, 1.0123, 0.9871, 1.0456, 0.9988))
    return TimingSample(function=function, impl=impl, workload=WORKLOAD, values_ns=values, loops=1000)


def _pair(index: int, function: str) -> PairResult:
    """Pair ``index``; every one but the last (which stands for a pair the fallback does not route) has its
    fallback side timed, 40.5 ns over Rust."""
    rust_ns = 250.125 + 37.5 * index  # under 1 ms: what collectd's timers would drop
    python_ns = rust_ns * (0.8 + index * 0.7)  # index 0 is slower in Rust
    rust = _timing(function, Impl.RUST, rust_ns)
    python = _timing(function, Impl.PYTHON, python_ns)
    value = python.median_ns / rust.median_ns
    pair = PairResult(
        function=function,
        workload=WORKLOAD,
        size=1024.0,
        size_unit="bytes",
        rust=rust,
        python=python,
        speedup=Speedup(value=value, ci_low=value * 0.95, ci_high=value * 1.04, method="synthetic"),
        claimed_speedup=None if index == 11 else 2.0 + index,
        verdict=Verdict.NO_CLAIM if index == 11 else (Verdict.REFUTED if index < 4 else Verdict.CONFIRMED),
        rust_memory=MemorySample(function, Impl.RUST, WORKLOAD, 128.0 + index, 2.0, 4096 * (index + 1)),
        python_memory=MemorySample(function, Impl.PYTHON, WORKLOAD, 512.5 + index, 7.0, 8192 * (index + 1)),
    )
    if index == 11:
        return pair
    return with_fallback(pair, _timing(function, Impl.FALLBACK, rust_ns + 40.5), resamples=200)


def synthetic_gate(functions: Sequence[str] = FUNCTIONS) -> tuple[GateComparison, ...]:
    """One Rust timing comparison per function; ``functions[1]`` regressed (+20%), the rest passed."""
    return tuple(
        GateComparison(
            function=function,
            impl=Impl.RUST,
            workload=WORKLOAD,
            metric="time",
            change_ratio=1.2 if index == 1 else 1.0,
            ci_low=1.1 if index == 1 else 0.97,
            ci_high=1.3 if index == 1 else 1.03,
            p_value_adjusted=0.001 if index == 1 else 0.8,
            outcome=GateOutcome.REGRESSION if index == 1 else GateOutcome.PASS,
        )
        for index, function in enumerate(functions)
    )


def synthetic_gate_report(duration_seconds: float = 12.5) -> GateReport:
    """What ``run_gate`` returns: the comparisons of ``synthetic_gate`` against a base commit."""
    return GateReport(
        mode="against",
        base="abc123",
        candidate="working tree",
        comparisons=synthetic_gate(),
        duration_seconds=duration_seconds,
    )


def _environment(machine: str) -> dict[str, str]:
    return {"machine_fingerprint": machine, "git_commit": "0123abc", "python_version": "3.11.7"}


def synthetic_run(
    run_id: str = "synthetic-1", *, interrupted: bool = False, mode: str = "quick", machine: str = MACHINE
) -> RunResult:
    pairs = tuple(_pair(index, function) for index, function in enumerate(FUNCTIONS))
    floor = _pair(0, "_noop")
    fallback = {
        f"{function}/{impl}": 10 + index for index, function in enumerate(FUNCTIONS) for impl in DIRECT_IMPLS
    }
    return RunResult(
        run_id=run_id,
        mode=mode,
        started_at_unix_s=time.time() - 60.0,
        duration_seconds=42.5,
        environment=_environment(machine),
        pairs=pairs,
        call_floor=floor,
        import_time_ns={"sky_rs": 1_234_567.0},
        rust_native_ns={f"{function}/{WORKLOAD}": 100.5 + index for index, function in enumerate(FUNCTIONS)},
        fallback_calls=fallback,
        interrupted=interrupted,
    )


def synthetic_gate_run(run_id: str = "gate-1", *, mode: str = "quick", machine: str = MACHINE) -> RunResult:
    """What the ``gate`` command sends: no pairs, the comparisons of ``synthetic_gate``."""
    return RunResult(
        run_id=run_id,
        mode=mode,
        started_at_unix_s=time.time() - 30.0,
        duration_seconds=295.25,
        environment=_environment(machine),
        pairs=(),
        gate=synthetic_gate(),
        kind=RunKind.GATE,
    )
