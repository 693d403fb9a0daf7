"""Immutable result values: what one harness run measured, and what the gate concluded.

Everything downstream of the measurement (CSV/JSON baselines, report, charts, Prometheus, StatsD, the gate)
reads these values and nothing else. They are frozen; statistics that can be derived from the raw values
(median, mean, standard deviation) are properties, never stored twice.

Format history of ``run.json`` (``RESULTS_FORMAT_VERSION``):
  1: first version. ``kind`` ("bench" or "gate") was added later with a default of "bench": files
     without it read as before, and an older harness ignores it.
  2: a gate comparison has ``base_median``, ``candidate_median``, ``detectable_change`` and ``presence``
     (defaults None, None, None, "both"); the physical floors: ``floors`` ("function/workload" -> Criterion
     median and interval of the floor bench, per call) and each pair's ``best_possible_speedup``; the verdict
     ``impossible``. Version-1 files load as before, with no floors and no best possible speedups.
  3: the fallback (``harness.functions.fallback``, what callers call) is a third side: a pair has
     ``fallback`` (its ``TimingSample``, impl "fallback"), ``production_speedup`` (Python / fallback) and
     ``dispatch_overhead`` (fallback - Rust, ns), all None for a pair the fallback does not route; a gate
     comparison's ``impl`` may be "fallback". Version-1 and 2 files load as before, with none of them.
  4: a pair has ``fallback_memory`` (the fallback's ``MemorySample``, impl "fallback"; None where the fallback
     does not route the pair or memory was not measured). Older files load with it None.
  5: ``floors`` include the Python objects a call returns, and ``result_object_floors`` ("function/workload"
     -> that part alone) says how much. Older files load with it empty: their floors leave the objects out.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

RESULTS_FORMAT_VERSION = 5
# Versions this harness reads: each one after 1 only added fields with defaults, so older files load as is.
READABLE_FORMAT_VERSIONS = frozenset({1, 2, 3, 4, 5})


class Impl(StrEnum):
    """A side of a pair: Rust called directly, the Python reference, or the wrapper callers call."""

    RUST = "rust"
    PYTHON = "python"
    # harness.functions.fallback: Rust when it can, else Python. Timed for the 12 built-in pairs only.
    FALLBACK = "fallback"


# The two sides every pair has; the fallback is the third for the pairs it routes.
DIRECT_IMPLS = (Impl.RUST, Impl.PYTHON)


class Verdict(StrEnum):
    """What a measured speedup says about the report's claim for it."""

    CONFIRMED = "confirmed"  # the whole confidence interval is at or above the claim
    REFUTED = "refuted"  # the whole interval is below the claim
    INCONCLUSIVE = "inconclusive"  # the interval straddles the claim
    # refuted, and the claim is above the whole interval of the best possible speedup too (Python time /
    # (floor + call floor)): no port of this function could reach it on this machine
    IMPOSSIBLE = "impossible"
    NO_CLAIM = "no_claim"  # the report claims nothing for this function


class GateOutcome(StrEnum):
    """The regression gate's conclusion for one comparison."""

    PASS = "pass"
    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    CANNOT_JUDGE = "cannot_judge"


class RunKind(StrEnum):
    """What produced a ``RunResult``: ``bench`` times pairs; ``gate`` carries only the gate's comparisons."""

    BENCH = "bench"
    GATE = "gate"


@dataclass(frozen=True)
class TimingSample:
    """Per-call wall times of one implementation on one workload.

    ``values_ns`` holds one value per round (the mean time of one call over ``loops`` calls). Rounds of the
    Rust and the Python side are interleaved, so ``values_ns[i]`` of both sides were measured side by side.
    """

    function: str
    impl: Impl
    workload: str
    values_ns: tuple[float, ...]
    loops: int
    warmup_values_ns: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.values_ns:
            raise ValueError(f"{self.function}/{self.impl}/{self.workload}: no timing values")
        if self.loops < 1:
            raise ValueError(f"loops must be >= 1, got {self.loops}")
        if any(not (value > 0) for value in self.values_ns):
            raise ValueError(f"{self.function}/{self.impl}/{self.workload}: timing values must be > 0")

    @property
    def median_ns(self) -> float:
        return statistics.median(self.values_ns)

    @property
    def mean_ns(self) -> float:
        return statistics.fmean(self.values_ns)

    @property
    def stdev_ns(self) -> float:
        return statistics.stdev(self.values_ns) if len(self.values_ns) > 1 else 0.0

    @property
    def min_ns(self) -> float:
        return min(self.values_ns)

    @property
    def max_ns(self) -> float:
        return max(self.values_ns)


@dataclass(frozen=True)
class MemorySample:
    """Memory cost of one implementation on one workload.

    Allocations are counted at the C allocator, so memory that Rust allocates inside a call is seen too.
    ``peak_rss_bytes`` is the growth of the resident set of a fresh process over its baseline while it runs
    the workload; it is measured for large workloads only (None elsewhere).
    """

    function: str
    impl: Impl
    workload: str
    alloc_bytes_per_call: float
    allocs_per_call: float
    peak_rss_bytes: int | None = None


@dataclass(frozen=True)
class Speedup:
    """Python time / Rust time for one workload, with its 95% confidence interval."""

    value: float
    ci_low: float
    ci_high: float
    method: str  # how the interval was computed, e.g. "bootstrap over 40 paired rounds"

    def __post_init__(self) -> None:
        if not (self.ci_low <= self.value <= self.ci_high):
            raise ValueError(f"speedup {self.value} outside its interval [{self.ci_low}, {self.ci_high}]")

    @property
    def relative_half_width(self) -> float:
        """Half the interval's width as a fraction of the value (0.05 means +-5%).

        A percentile interval is often lopsided: prefer ``relative_reach`` and its two ends."""
        return (self.ci_high - self.ci_low) / 2 / self.value

    @property
    def relative_reach_below(self) -> float:
        """How far the interval reaches below the value, as a fraction of it (0.088 means -8.8%)."""
        return 1 - self.ci_low / self.value

    @property
    def relative_reach_above(self) -> float:
        """How far the interval reaches above the value, as a fraction of it (0.013 means +1.3%)."""
        return self.ci_high / self.value - 1

    @property
    def relative_reach(self) -> float:
        """The farther of the two ends: what the adaptive stop and the "wide" mark use."""
        return max(self.relative_reach_below, self.relative_reach_above)


@dataclass(frozen=True)
class Difference:
    """A per-call time difference in ns (the fallback's dispatch overhead), with its 95% interval."""

    value_ns: float
    ci_low_ns: float
    ci_high_ns: float
    method: str

    def __post_init__(self) -> None:
        if not (self.ci_low_ns <= self.value_ns <= self.ci_high_ns):
            raise ValueError(
                f"difference {self.value_ns} ns outside its interval [{self.ci_low_ns}, {self.ci_high_ns}]"
            )


@dataclass(frozen=True)
class NativeEstimate:
    """A Criterion median per call (of the Rust work, or of a physical floor) with its 95% interval."""

    median_ns: float
    ci_low_ns: float
    ci_high_ns: float

    def __post_init__(self) -> None:
        if not (0 < self.ci_low_ns <= self.median_ns <= self.ci_high_ns):
            raise ValueError(
                f"estimate {self.median_ns} ns needs 0 < low <= median <= high, got "
                f"[{self.ci_low_ns}, {self.ci_high_ns}]"
            )


@dataclass(frozen=True)
class PairResult:
    """One function on one workload, its sides timed side by side in the same rounds.

    ``fallback`` (with ``production_speedup`` and ``dispatch_overhead``) is None for a pair the fallback does
    not route (one registered with ``--pairs``) and in files older than format 3.
    """

    function: str
    workload: str
    size: float | None  # the workload's size in ``size_unit`` (for scaling charts); None if size-less
    size_unit: str  # "bytes", "entries", "calls", "" ...
    rust: TimingSample
    python: TimingSample
    speedup: Speedup
    claimed_speedup: float | None
    verdict: Verdict
    rust_memory: MemorySample | None = None
    python_memory: MemorySample | None = None
    # Python time / (physical floor + Rust call floor): what the best port could reach (None: no floor).
    best_possible_speedup: Speedup | None = None
    fallback: TimingSample | None = None  # what callers get: harness.functions.fallback's function
    production_speedup: Speedup | None = None  # Python time / fallback time, paired by round
    dispatch_overhead: Difference | None = None  # fallback time - Rust time per call, paired by round
    fallback_memory: MemorySample | None = None  # measured in the fallback's own memory pass, as the others

    def timing(self, impl: Impl) -> TimingSample | None:
        """The side ``impl``'s timing (None: the fallback of a pair it does not route)."""
        return {Impl.RUST: self.rust, Impl.PYTHON: self.python, Impl.FALLBACK: self.fallback}[impl]

    def memory(self, impl: Impl) -> MemorySample | None:
        """The side ``impl``'s memory (None: not measured, or the fallback of a pair it does not route)."""
        return {
            Impl.RUST: self.rust_memory,
            Impl.PYTHON: self.python_memory,
            Impl.FALLBACK: self.fallback_memory,
        }[impl]


@dataclass(frozen=True)
class NotComparable:
    """A pair whose two sides disagreed on its workload: reported, never timed."""

    function: str
    workload: str
    difference: str


@dataclass(frozen=True)
class GateComparison:
    """The gate's verdict on one metric of one pair (or one side of it) between a base and a candidate."""

    function: str
    impl: Impl
    workload: str
    metric: str  # "time", "alloc_bytes", "peak_rss", "instructions", "rust_vs_python", "fallback_vs_python"
    change_ratio: float  # candidate / base; > 1 means slower or bigger
    ci_low: float
    ci_high: float
    p_value_adjusted: float | None
    outcome: GateOutcome
    detail: str = ""
    # The metric's value on each side (median of its rounds: ns for time, bytes, instructions), when known.
    base_median: float | None = None
    candidate_median: float | None = None
    # The smallest slowdown this comparison could have caught at 95% power, from its own rounds and its
    # minimum effect (0.064 = +6.4%): what "pass" rules out. None where no statistics were run.
    detectable_change: float | None = None
    presence: str = "both"  # "both"; "new": the base lacks it; "dropped": the candidate no longer has it


@dataclass(frozen=True)
class RunResult:
    """Everything one run measured. Saved as ``run.json`` in the run folder, loaded by ``publish``."""

    run_id: str
    mode: str  # "quick", "default" or "full"
    started_at_unix_s: float
    duration_seconds: float
    environment: Mapping[str, str]
    pairs: tuple[PairResult, ...]
    not_comparable: tuple[NotComparable, ...] = ()
    call_floor: PairResult | None = None  # the no-op function, timed the same way
    import_time_ns: Mapping[str, float] = field(default_factory=dict)  # "sky_rs" -> time to import it
    # "function/workload" -> median ns per call from Criterion: the Rust work alone, without Python.
    rust_native_ns: Mapping[str, float] = field(default_factory=dict)
    # Physical references for the scaling charts, keyed "function/workload/what" with the unit in ``what``:
    # "hash_file/sha256-1MiB/hashlib_ns", ".../sha256sum_ns", "read_last_n_lines/<w>/bytes_read_per_call".
    physical_references: Mapping[str, float] = field(default_factory=dict)
    # "function/workload" -> the physical floor per call (harness.measure.floors): the least work its
    # semantics need.
    floors: Mapping[str, NativeEstimate] = field(default_factory=dict)
    # "function/workload" -> the part of its floor that creates the Python objects a call returns (measured
    # in a worker, harness.measure.floors); already included in ``floors``.
    result_object_floors: Mapping[str, NativeEstimate] = field(default_factory=dict)
    timer_overhead_ns: float | None = None  # the harness's own cost per timed value (an empty timed loop)
    fallback_calls: Mapping[str, int] = field(default_factory=dict)  # "function/impl" -> calls served
    gate: tuple[GateComparison, ...] = ()
    interrupted: bool = False  # Ctrl-C: what is here was measured, the rest was not
    kind: RunKind = RunKind.BENCH
    format_version: int = RESULTS_FORMAT_VERSION

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> RunResult:
        version = data.get("format_version")
        if version not in READABLE_FORMAT_VERSIONS:
            raise ValueError(
                f"run.json format {version!r} is not supported (this harness reads "
                f"{', '.join(map(str, sorted(READABLE_FORMAT_VERSIONS)))})"
            )
        return cls(
            run_id=data["run_id"],
            mode=data["mode"],
            started_at_unix_s=float(data["started_at_unix_s"]),
            duration_seconds=float(data["duration_seconds"]),
            environment=dict(data["environment"]),
            pairs=tuple(_pair_from_dict(p) for p in data["pairs"]),
            not_comparable=tuple(NotComparable(**n) for n in data.get("not_comparable", ())),
            call_floor=_pair_from_dict(data["call_floor"]) if data.get("call_floor") else None,
            import_time_ns=dict(data.get("import_time_ns", {})),
            rust_native_ns=dict(data.get("rust_native_ns", {})),
            physical_references=dict(data.get("physical_references", {})),
            floors={key: NativeEstimate(**value) for key, value in data.get("floors", {}).items()},
            result_object_floors={
                key: NativeEstimate(**value) for key, value in data.get("result_object_floors", {}).items()
            },
            timer_overhead_ns=data.get("timer_overhead_ns"),
            fallback_calls=dict(data.get("fallback_calls", {})),
            gate=tuple(_gate_from_dict(g) for g in data.get("gate", ())),
            interrupted=bool(data.get("interrupted", False)),
            kind=RunKind(data.get("kind", RunKind.BENCH)),
        )


def _timing_from_dict(data: Mapping[str, Any]) -> TimingSample:
    return TimingSample(
        function=data["function"],
        impl=Impl(data["impl"]),
        workload=data["workload"],
        values_ns=tuple(float(v) for v in data["values_ns"]),
        loops=int(data["loops"]),
        warmup_values_ns=tuple(float(v) for v in data.get("warmup_values_ns", ())),
    )


def _memory_from_dict(data: Mapping[str, Any] | None) -> MemorySample | None:
    if data is None:
        return None
    return MemorySample(**{**data, "impl": Impl(data["impl"])})


def _pair_from_dict(data: Mapping[str, Any]) -> PairResult:
    return PairResult(
        function=data["function"],
        workload=data["workload"],
        size=data["size"],
        size_unit=data["size_unit"],
        rust=_timing_from_dict(data["rust"]),
        python=_timing_from_dict(data["python"]),
        speedup=Speedup(**data["speedup"]),
        claimed_speedup=data["claimed_speedup"],
        verdict=Verdict(data["verdict"]),
        rust_memory=_memory_from_dict(data.get("rust_memory")),
        python_memory=_memory_from_dict(data.get("python_memory")),
        best_possible_speedup=Speedup(**best) if (best := data.get("best_possible_speedup")) else None,
        fallback=_timing_from_dict(data["fallback"]) if data.get("fallback") else None,
        production_speedup=Speedup(**p) if (p := data.get("production_speedup")) else None,
        dispatch_overhead=Difference(**d) if (d := data.get("dispatch_overhead")) else None,
        fallback_memory=_memory_from_dict(data.get("fallback_memory")),
    )


def _gate_from_dict(data: Mapping[str, Any]) -> GateComparison:
    return GateComparison(**{**data, "impl": Impl(data["impl"]), "outcome": GateOutcome(data["outcome"])})
