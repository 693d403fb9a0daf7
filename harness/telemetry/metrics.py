"""The Prometheus metrics of one run, built from its ``RunResult`` and nothing else.

Naming follows Prometheus's rules: a ``skybench_`` prefix, base units (seconds, bytes, ratios) at the end of
the name, ``_total`` only on counters. Labels are bounded: ``function`` (the registry's pairs + the call
floor), ``impl`` (rust, python, fallback), ``workload`` (the pairs' declared ids),
``metric``/``outcome``/``verdict`` (enums). The run's identity (run_id, git commit) is on the single
``skybench_run_info`` series only: a run id on every series would create a new series per run and grow
Prometheus's index without bound, while the Pushgateway's grouping key (job, suite, machine) already
separates machines and suites, and each push replaces that group's previous run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from harness.results import GateOutcome, MemorySample, PairResult, RunKind, RunResult, Verdict

NS_PER_SECOND: Final = 1e9
UNKNOWN_MACHINE: Final = "unknown"

# Every metric name, in one place: the dashboards, rules and tests refer to these.
RUN_INFO: Final = "skybench_run"  # exposed as skybench_run_info (InfoMetricFamily appends _info)
RUN_TIMESTAMP: Final = "skybench_run_timestamp_seconds"
RUN_DURATION: Final = "skybench_run_duration_seconds"
RUN_INTERRUPTED: Final = "skybench_run_interrupted"
RUN_PAIRS: Final = "skybench_run_pairs"
RUN_NOT_COMPARABLE: Final = "skybench_run_not_comparable_pairs"
LAST_SUCCESS: Final = "skybench_last_success_timestamp_seconds"
CALL_MEDIAN: Final = "skybench_call_median_seconds"
CALL_MEAN: Final = "skybench_call_mean_seconds"
CALL_STDEV: Final = "skybench_call_stdev_seconds"
CALL_MIN: Final = "skybench_call_min_seconds"
CALL_MAX: Final = "skybench_call_max_seconds"
CALL_ROUNDS: Final = "skybench_call_rounds"
CALL_FLOOR: Final = "skybench_call_floor_seconds"
SPEEDUP: Final = "skybench_speedup_ratio"
SPEEDUP_CI_LOWER: Final = "skybench_speedup_ci_lower_ratio"
SPEEDUP_CI_UPPER: Final = "skybench_speedup_ci_upper_ratio"
SPEEDUP_CLAIMED: Final = "skybench_speedup_claimed_ratio"
CLAIM_VERDICT: Final = "skybench_claim_verdict"
# What callers get through harness.functions.fallback: Python / fallback, and fallback - Rust per call.
PRODUCTION_SPEEDUP: Final = "skybench_production_speedup_ratio"
PRODUCTION_SPEEDUP_CI_LOWER: Final = "skybench_production_speedup_ci_lower_ratio"
PRODUCTION_SPEEDUP_CI_UPPER: Final = "skybench_production_speedup_ci_upper_ratio"
DISPATCH_OVERHEAD: Final = "skybench_dispatch_overhead_seconds"
DISPATCH_OVERHEAD_CI_LOWER: Final = "skybench_dispatch_overhead_ci_lower_seconds"
DISPATCH_OVERHEAD_CI_UPPER: Final = "skybench_dispatch_overhead_ci_upper_seconds"
ALLOCATED_BYTES: Final = "skybench_call_allocated_bytes"
ALLOCATIONS: Final = "skybench_call_allocations"
PEAK_RSS: Final = "skybench_peak_rss_bytes"
GATE_OUTCOME: Final = "skybench_gate_outcome"
GATE_CHANGE: Final = "skybench_gate_change_ratio"
GATE_CHANGE_CI_LOWER: Final = "skybench_gate_change_ci_lower_ratio"
GATE_CHANGE_CI_UPPER: Final = "skybench_gate_change_ci_upper_ratio"
FALLBACK_CALLS: Final = "skybench_fallback_calls"  # a counter: exposed as skybench_fallback_calls_total
IMPORT_TIME: Final = "skybench_import_seconds"
RUST_NATIVE_CALL: Final = "skybench_rust_native_call_seconds"
PROGRESS_DONE: Final = "skybench_progress_done_pairs"
PROGRESS_PLANNED: Final = "skybench_progress_planned_pairs"
PROGRESS_UPDATED: Final = "skybench_progress_updated_timestamp_seconds"
# Written by `history`, not by a run: unix time of the first run after a step (the dashboards annotate it).
CHANGE_POINT_TIMESTAMP: Final = "skybench_change_point_timestamp_seconds"

PAIR_LABELS: Final = ("function", "impl", "workload")

_Number = TypeVar("_Number", int, float)
_LABEL_VALUE_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


def machine_id(environment: Mapping[str, str]) -> str:
    """The machine's identity for the grouping key, from ``RunResult.environment``."""
    for key in ("machine_fingerprint", "machine", "hostname"):
        value = environment.get(key)
        if value:
            return _LABEL_VALUE_UNSAFE.sub("_", value)
    return UNKNOWN_MACHINE


def grouping_key(run: RunResult) -> dict[str, str]:
    """The Pushgateway group of a run (besides ``job``): one per suite and machine, replaced by each push."""
    return {"suite": run.mode, "machine": machine_id(run.environment)}


def _seconds(ns: float) -> float:
    return ns / NS_PER_SECOND


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


class RunCollector(Collector):
    """Yields the metrics of one finished (or interrupted) run; ``succeeded`` adds the last-success time."""

    def __init__(self, run: RunResult, *, succeeded: bool) -> None:
        self._run = run
        self._succeeded = succeeded

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # values are fixed at construction; registering needs no name check

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | InfoMetricFamily]:
        run = self._run
        yield from self._run_metrics(run)
        yield from self._timing_metrics(run.pairs)
        yield from self._speedup_metrics(run.pairs)
        yield from self._fallback_metrics(run.pairs)
        yield from self._memory_metrics(run.pairs)
        yield from self._gate_metrics(run)
        yield from self._side_metrics(run)

    def _run_metrics(self, run: RunResult) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        info = InfoMetricFamily(RUN_INFO, "Identity of the run these metrics come from.")
        info.add_metric(
            [],
            {
                "run_id": run.run_id,
                "mode": run.mode,
                "git_commit": run.environment.get("git_commit", ""),
                "git_dirty": run.environment.get("git_dirty", ""),
                "python_version": run.environment.get("python_version", ""),
                "kind": str(run.kind),
            },
        )
        yield info
        gauges: list[tuple[str, str, float]] = [
            (RUN_TIMESTAMP, "Unix time the run started.", run.started_at_unix_s),
            (RUN_DURATION, "Wall time of the whole run.", run.duration_seconds),
        ]
        # A gate run (its own Pushgateway job) times no pairs and is not the daily bench whose last success
        # SkybenchNotReporting watches: pairs counts and the last-success time would only mislead.
        is_bench = run.kind == RunKind.BENCH
        if is_bench:
            gauges += [
                (
                    RUN_INTERRUPTED,
                    "1 if the run was interrupted before it measured every pair.",
                    run.interrupted,
                ),
                (RUN_PAIRS, "Function/workload pairs the run timed.", len(run.pairs)),
                (
                    RUN_NOT_COMPARABLE,
                    "Pairs whose two sides disagreed, so were not timed.",
                    len(run.not_comparable),
                ),
            ]
        for name, doc, value in gauges:
            family = _gauge(name, doc)
            family.add_metric([], float(value))
            yield family
        if is_bench and self._succeeded:
            family = _gauge(LAST_SUCCESS, "Unix time the last successful run ended.")
            family.add_metric([], run.started_at_unix_s + run.duration_seconds)
            yield family

    @staticmethod
    def _timing_metrics(pairs: Iterable[PairResult]) -> Iterator[GaugeMetricFamily]:
        families = {
            CALL_MEDIAN: _gauge(CALL_MEDIAN, "Median time of one call over the rounds.", PAIR_LABELS),
            CALL_MEAN: _gauge(CALL_MEAN, "Mean time of one call over the rounds.", PAIR_LABELS),
            CALL_STDEV: _gauge(CALL_STDEV, "Standard deviation of the per-round call time.", PAIR_LABELS),
            CALL_MIN: _gauge(CALL_MIN, "Fastest round's time of one call.", PAIR_LABELS),
            CALL_MAX: _gauge(CALL_MAX, "Slowest round's time of one call.", PAIR_LABELS),
            CALL_ROUNDS: _gauge(CALL_ROUNDS, "Rounds timed (one value each).", PAIR_LABELS),
        }
        for pair in pairs:
            for sample in (pair.rust, pair.python, pair.fallback):
                if sample is None:  # the fallback of a pair it does not route
                    continue
                labels = [pair.function, str(sample.impl), pair.workload]
                families[CALL_MEDIAN].add_metric(labels, _seconds(sample.median_ns))
                families[CALL_MEAN].add_metric(labels, _seconds(sample.mean_ns))
                families[CALL_STDEV].add_metric(labels, _seconds(sample.stdev_ns))
                families[CALL_MIN].add_metric(labels, _seconds(sample.min_ns))
                families[CALL_MAX].add_metric(labels, _seconds(sample.max_ns))
                families[CALL_ROUNDS].add_metric(labels, float(len(sample.values_ns)))
        yield from families.values()

    @staticmethod
    def _speedup_metrics(pairs: Iterable[PairResult]) -> Iterator[GaugeMetricFamily]:
        labels = ("function", "workload")
        speedup = _gauge(SPEEDUP, "Python time / Rust time (median of paired rounds).", labels)
        lower = _gauge(SPEEDUP_CI_LOWER, "Lower bound of the speedup's 95% confidence interval.", labels)
        upper = _gauge(SPEEDUP_CI_UPPER, "Upper bound of the speedup's 95% confidence interval.", labels)
        claimed = _gauge(SPEEDUP_CLAIMED, "Speedup the report claims (absent when it claims none).", labels)
        verdict = _gauge(
            CLAIM_VERDICT,
            "1 for the verdict on the claim (confirmed/refuted/...), 0 for the others.",
            (*labels, "verdict"),
        )
        for pair in pairs:
            values = [pair.function, pair.workload]
            speedup.add_metric(values, pair.speedup.value)
            lower.add_metric(values, pair.speedup.ci_low)
            upper.add_metric(values, pair.speedup.ci_high)
            if pair.claimed_speedup is not None:
                claimed.add_metric(values, pair.claimed_speedup)
            for candidate in Verdict:
                verdict.add_metric([*values, str(candidate)], float(candidate == pair.verdict))
        yield from (speedup, lower, upper, claimed, verdict)

    @staticmethod
    def _fallback_metrics(pairs: Iterable[PairResult]) -> Iterator[GaugeMetricFamily]:
        labels = ("function", "workload")
        production = _gauge(
            PRODUCTION_SPEEDUP, "Python time / fallback time: the speedup callers get.", labels
        )
        production_lower = _gauge(
            PRODUCTION_SPEEDUP_CI_LOWER, "Lower bound of the production speedup's 95% interval.", labels
        )
        production_upper = _gauge(
            PRODUCTION_SPEEDUP_CI_UPPER, "Upper bound of the production speedup's 95% interval.", labels
        )
        overhead = _gauge(DISPATCH_OVERHEAD, "Fallback time - Rust time per call (may be < 0).", labels)
        overhead_lower = _gauge(
            DISPATCH_OVERHEAD_CI_LOWER, "Lower bound of the dispatch overhead's 95% interval.", labels
        )
        overhead_upper = _gauge(
            DISPATCH_OVERHEAD_CI_UPPER, "Upper bound of the dispatch overhead's 95% interval.", labels
        )
        for pair in pairs:
            values = [pair.function, pair.workload]
            if pair.production_speedup is not None:
                production.add_metric(values, pair.production_speedup.value)
                production_lower.add_metric(values, pair.production_speedup.ci_low)
                production_upper.add_metric(values, pair.production_speedup.ci_high)
            if pair.dispatch_overhead is not None:
                overhead.add_metric(values, _seconds(pair.dispatch_overhead.value_ns))
                overhead_lower.add_metric(values, _seconds(pair.dispatch_overhead.ci_low_ns))
                overhead_upper.add_metric(values, _seconds(pair.dispatch_overhead.ci_high_ns))
        yield from (production, production_lower, production_upper)
        yield from (overhead, overhead_lower, overhead_upper)

    @staticmethod
    def _memory_metrics(pairs: Iterable[PairResult]) -> Iterator[GaugeMetricFamily]:
        allocated = _gauge(
            ALLOCATED_BYTES, "Bytes allocated (C allocator, Rust's too) per call.", PAIR_LABELS
        )
        allocations = _gauge(ALLOCATIONS, "Allocations per call.", PAIR_LABELS)
        peak_rss = _gauge(
            PEAK_RSS, "Growth of a fresh process's resident set while running the workload.", PAIR_LABELS
        )
        memories: list[MemorySample] = [
            memory
            for pair in pairs
            for memory in (pair.rust_memory, pair.python_memory, pair.fallback_memory)
            if memory is not None
        ]
        for memory in memories:
            labels = [memory.function, str(memory.impl), memory.workload]
            allocated.add_metric(labels, memory.alloc_bytes_per_call)
            allocations.add_metric(labels, memory.allocs_per_call)
            if memory.peak_rss_bytes is not None:
                peak_rss.add_metric(labels, float(memory.peak_rss_bytes))
        yield from (allocated, allocations, peak_rss)

    @staticmethod
    def _gate_metrics(run: RunResult) -> Iterator[GaugeMetricFamily]:
        labels = (*PAIR_LABELS, "metric")
        outcome = _gauge(
            GATE_OUTCOME,
            "1 for the gate's outcome (pass/regression/...) on a metric, 0 for the others.",
            (*labels, "outcome"),
        )
        change = _gauge(GATE_CHANGE, "Candidate / base of the metric; > 1 means slower or bigger.", labels)
        lower = _gauge(GATE_CHANGE_CI_LOWER, "Lower bound of the change's 95% confidence interval.", labels)
        upper = _gauge(GATE_CHANGE_CI_UPPER, "Upper bound of the change's 95% confidence interval.", labels)
        for comparison in run.gate:
            values = [comparison.function, str(comparison.impl), comparison.workload, comparison.metric]
            change.add_metric(values, comparison.change_ratio)
            lower.add_metric(values, comparison.ci_low)
            upper.add_metric(values, comparison.ci_high)
            for candidate in GateOutcome:
                outcome.add_metric([*values, str(candidate)], float(candidate == comparison.outcome))
        yield from (outcome, change, lower, upper)

    @staticmethod
    def _side_metrics(run: RunResult) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        floor = _gauge(
            CALL_FLOOR, "Median time of a call to a no-op function: the cost of the call itself.", ["impl"]
        )
        if run.call_floor is not None:
            for sample in (run.call_floor.rust, run.call_floor.python):
                floor.add_metric([str(sample.impl)], _seconds(sample.median_ns))
        yield floor
        fallback = CounterMetricFamily(
            FALLBACK_CALLS,
            "Calls harness.functions.fallback served, per function and implementation.",
            labels=["function", "impl"],
        )
        for key, calls in sorted(_split_keys(run.fallback_calls).items()):
            fallback.add_metric(list(key), float(calls))
        yield fallback
        imports = _gauge(IMPORT_TIME, "Time to import a module in a fresh interpreter.", ["module"])
        for module, ns in sorted(run.import_time_ns.items()):
            imports.add_metric([module], _seconds(ns))
        yield imports
        native = _gauge(
            RUST_NATIVE_CALL,
            "Criterion's time of one call in Rust, without Python.",
            ["function", "workload"],
        )
        for (function, workload), ns in sorted(_split_keys(run.rust_native_ns).items()):
            native.add_metric([function, workload], _seconds(ns))
        yield native


def _split_keys(values: Mapping[str, _Number]) -> dict[tuple[str, str], _Number]:
    """``{"function/second": v}`` -> ``{("function", "second"): v}``; keys without a slash are skipped."""
    split: dict[tuple[str, str], _Number] = {}
    for key, value in values.items():
        first, sep, second = key.partition("/")
        if sep:
            split[(first, second)] = value
    return split


def run_registry(run: RunResult, *, succeeded: bool) -> CollectorRegistry:
    """A fresh registry holding one run's metrics (one registry per run, never the global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(run, succeeded=succeeded))
    return registry
