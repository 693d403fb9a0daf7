"""Run folders for the history tests: the synthetic run again and again, with noise and one injected step."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from harness.results import Impl, PairResult, RunResult, TimingSample
from harness.run_json import save_run
from tests.report.synthetic import synthetic_run

RUN_SPACING_S = 86_400.0
NOISE_SIGMA = 0.02  # 2% run to run, about what this machine shows between quiet runs


@dataclass(frozen=True)
class InjectedStep:
    function: str
    workload: str
    impl: Impl
    from_run: int  # the first run that is slower
    factor: float


def _scaled(sample: TimingSample, factor: float) -> TimingSample:
    return replace(sample, values_ns=tuple(value * factor for value in sample.values_ns))


def _noisy_pair(pair: PairResult, rng: np.random.Generator, extra: dict[Impl, float]) -> PairResult:
    rust = _scaled(pair.rust, float(np.exp(rng.normal(0, NOISE_SIGMA))) * extra.get(Impl.RUST, 1.0))
    python = _scaled(pair.python, float(np.exp(rng.normal(0, NOISE_SIGMA))) * extra.get(Impl.PYTHON, 1.0))
    return replace(pair, rust=rust, python=python)


def history_runs(count: int, step: InjectedStep | None, seed: int = 0) -> list[RunResult]:
    rng = np.random.default_rng(seed)
    template = synthetic_run()
    runs = []
    for index in range(count):
        pairs = []
        for pair in template.pairs:
            hit = step is not None and (pair.function, pair.workload) == (step.function, step.workload)
            extra = {step.impl: step.factor} if hit and step is not None and index >= step.from_run else {}
            pairs.append(_noisy_pair(pair, rng, extra))
        runs.append(
            replace(
                template,
                run_id=f"2026110{index // 10}T{index % 10:02d}0000Z-default",
                started_at_unix_s=template.started_at_unix_s + index * RUN_SPACING_S,
                environment={**template.environment, "git_commit": f"{index:040x}"},
                pairs=tuple(pairs),
                interrupted=False,
            )
        )
    return runs


def write_run_folders(runs: list[RunResult], runs_dir: Path) -> Path:
    for run in runs:
        folder = runs_dir / run.run_id
        folder.mkdir(parents=True)
        save_run(run, folder)
    return runs_dir
