"""The gate against a committed baseline file (``--baseline``), and ``--ratios-only``.

Only on the machine the baseline was measured on, unless ``--ratios-only`` compares the in-run speedups
(Python / Rust, and Python / fallback where the fallback routes the pair), which travel between machines
better. The baseline keeps medians and intervals, not rounds, so the
verdicts use conservative intervals (no p-values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from harness.gate.build import repo_root
from harness.gate.compare import GatePolicy, floor_metric
from harness.gate.outcome import (
    CannotJudge,
    CannotJudgeCode,
    GateReport,
    GateUsageError,
    cannot_judge_comparison,
)
from harness.measure.bench import BenchOptions, run_bench
from harness.measure.environment import collect_environment
from harness.results import GateComparison, GateOutcome, Impl, PairResult
from harness.sinks.baseline import Baseline, BaselineFormatError, load_baseline
from harness.stats import RatioInterval, median_interval

if TYPE_CHECKING:
    from harness.gate.gate import GateOptions

Progress = Callable[[str], None]


def gate_against_baseline(options: GateOptions, progress: Progress) -> GateReport:
    assert options.baseline is not None
    try:
        baseline = load_baseline(options.baseline)
    except FileNotFoundError as error:
        raise GateUsageError(f"baseline {options.baseline} does not exist") from error
    except BaselineFormatError as error:
        raise GateUsageError(str(error)) from error
    repo = repo_root(options.repo)
    fingerprint = collect_environment(repo)["machine_fingerprint"]
    mode = "ratios-only" if options.ratios_only else "baseline"
    base_label = f"{options.baseline} ({baseline.fingerprint})"
    if baseline.fingerprint != fingerprint and not options.ratios_only:
        return GateReport(
            mode=mode,
            base=base_label,
            candidate="working tree",
            cannot_judge=CannotJudge(
                CannotJudgeCode.OTHER_MACHINE_BASELINE,
                f"the baseline was measured on machine {baseline.fingerprint}, this is {fingerprint}: "
                "absolute times do not travel between machines (--ratios-only compares the speedups)",
            ),
        )
    progress("measuring the working tree with the bench")
    run = run_bench(
        BenchOptions(
            mode=options.mode, only=options.only, scratch=options.scratch, repo_root=repo, progress=False
        )
    )
    comparisons = baseline_comparisons(run.pairs, baseline, options) + _dropped(run.pairs, baseline, options)
    return GateReport(
        mode=mode,
        base=base_label,
        candidate="working tree",
        comparisons=tuple(comparisons),
        base_environment=dict(baseline.environment),
        notes=(
            "baseline mode: the baseline keeps medians and intervals, not rounds, so the verdict uses "
            "conservative intervals (no p-values); the run-to-run drift of a shared machine is not in them, "
            "which is why `--against` is the default",
        ),
    )


def _dropped(pairs: Sequence[PairResult], baseline: Baseline, options: GateOptions) -> list[GateComparison]:
    """Rows of the baseline's measured functions that this run no longer has: reported, not judged."""
    measured = {pair.function for pair in pairs}
    present = {(pair.function, pair.workload) for pair in pairs}
    return [
        replace(
            cannot_judge_comparison(function, impl, workload, "time", "not in this run; the baseline has it"),
            presence="dropped",
            base_median=row.median_ns,
        )
        for (function, workload, impl), row in sorted(baseline.rows.items())
        if function in measured and (function, workload) not in present and not options.ratios_only
    ]


def baseline_comparisons(
    pairs: Sequence[PairResult], baseline: Baseline, options: GateOptions
) -> list[GateComparison]:
    """Each pair's times (or, with --ratios-only, its speedups) against the baseline's rows: Rust, Python and,
    where the fallback routes the pair, the fallback (its production speedup with --ratios-only)."""
    comparisons: list[GateComparison] = []
    for pair in pairs:
        if options.ratios_only:
            comparisons += _ratio_comparisons(pair, baseline, options.config.policy)
        else:
            comparisons += _time_comparisons(pair, baseline, options.config.policy)
    return comparisons


def _ratio_comparisons(pair: PairResult, baseline: Baseline, policy: GatePolicy) -> list[GateComparison]:
    """Python / Rust on the Rust row and Python / fallback on the fallback's row, against the baseline's."""
    comparisons: list[GateComparison] = []
    for impl, speedup in ((Impl.RUST, pair.speedup), (Impl.FALLBACK, pair.production_speedup)):
        if speedup is None:  # the fallback of a pair it does not route
            continue
        metric = floor_metric(impl)  # rust_vs_python, fallback_vs_python
        row = baseline.rows.get((pair.function, pair.workload, impl))
        if row is None or row.speedup is None or row.ci_low is None or row.ci_high is None:
            comparisons.append(
                cannot_judge_comparison(pair.function, impl, pair.workload, metric, "not in baseline")
            )
            continue
        # The side's advantage shrank if base speedup / candidate speedup > 1; conservative interval.
        estimate = RatioInterval(
            row.speedup / speedup.value, row.ci_low / speedup.ci_high, row.ci_high / speedup.ci_low
        )
        comparisons.append(
            _interval_verdict(pair.function, impl, pair.workload, metric, estimate=estimate, policy=policy)
        )
    return comparisons


def _time_comparisons(pair: PairResult, baseline: Baseline, policy: GatePolicy) -> list[GateComparison]:
    """Each timed side's median against the baseline row's, with conservative intervals."""
    comparisons: list[GateComparison] = []
    for impl in (Impl.RUST, Impl.PYTHON, Impl.FALLBACK):
        sample = pair.timing(impl)
        if sample is None:  # the fallback of a pair it does not route
            continue
        row = baseline.rows.get((pair.function, pair.workload, impl))
        if row is None:
            comparisons.append(
                replace(
                    cannot_judge_comparison(pair.function, impl, pair.workload, "time", "not in baseline"),
                    presence="new",
                    candidate_median=sample.median_ns,
                )
            )
            continue
        low, high = median_interval(sample.values_ns)
        estimate = RatioInterval(
            sample.median_ns / row.median_ns, low / row.median_ci_high_ns, high / row.median_ci_low_ns
        )
        comparisons.append(
            _interval_verdict(pair.function, impl, pair.workload, "time", estimate=estimate, policy=policy)
        )
    return comparisons


def _interval_verdict(
    function: str, impl: Impl, workload: str, metric: str, *, estimate: RatioInterval, policy: GatePolicy
) -> GateComparison:
    """Fails when the whole interval is beyond 1 and the point estimate beyond the minimum effect."""
    if estimate.ci_low > 1 and estimate.ratio > 1 + policy.min_effect:
        outcome = GateOutcome.REGRESSION
    elif estimate.ci_high < 1 and estimate.ratio < 1 / (1 + policy.min_effect):
        outcome = GateOutcome.IMPROVEMENT
    else:
        outcome = GateOutcome.PASS
    return GateComparison(
        function=function,
        impl=impl,
        workload=workload,
        metric=metric,
        change_ratio=estimate.ratio,
        ci_low=min(estimate.ci_low, estimate.ratio),
        ci_high=max(estimate.ci_high, estimate.ratio),
        p_value_adjusted=None,
        outcome=outcome,
        detail=f"interval vs baseline; minimum effect {policy.min_effect:.0%}",
    )
