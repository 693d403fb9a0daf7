"""Fake measurements for stage 2's looks: seeded suites whose re-measurement draws fresh rounds, and a clock.

``one_look_verdicts`` is what ``tests/gate/data/stage2_one_look_verdicts.json`` holds: the verdicts of
``judge_two_stage`` on these suites. The file was written by the fixed stage 2 of commit 1cfe57f (before
stage 2 had looks, its re-measurement taking the suspects alone) running this module unchanged, so
comparing today's one-look stage 2 with it compares against that code, not against itself.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.gate.compare import GatePolicy, PairedRounds
from harness.results import GateComparison, Impl

if TYPE_CHECKING:  # not at run time: the fixed stage 2 of 1cfe57f, which wrote the golden file, had no looks
    from harness.gate.looks import Look

SCREEN_ROUNDS = 14
FIRST_LOOK_ROUNDS = 42  # the shipped confirm_rounds of 14 screen rounds: max(30, 3 x 14)
# Fewer resamples than shipped (faster) and a small budget, so that suspects beyond it occur too.
GOLDEN_POLICY = GatePolicy(bootstrap_resamples=300, max_suspects=6)
GOLDEN_SUITES = 12
FAILING = "fails"  # a comparison whose re-measurement fails


class FakeStage2:
    """Comparisons with a true shift and a per-round spread of the log ratio; the re-measurement draws
    fresh, independent rounds of the suspects (its shift and spread may be changed in between), records
    what each look asked for, and advances ``clock`` by ``seconds_per_look``."""

    def __init__(
        self,
        rng: np.random.Generator,
        shifts: Sequence[float],
        spreads: Sequence[float],
        *,
        seconds_per_look: float = 0.0,
    ) -> None:
        self.rng = rng
        self.shifts = {f"f{i}": shift for i, shift in enumerate(shifts)}
        self.spreads = {f"f{i}": spread for i, spread in enumerate(spreads)}
        self.seconds_per_look = seconds_per_look
        self.now = 0.0
        self.asked: list[tuple[int, tuple[str, ...], int]] = []  # (look index, suspects, rounds)
        self.returned: dict[str, list[PairedRounds]] = {}

    def clock(self) -> float:
        return self.now

    def rounds(self, names: Sequence[str], count: int) -> list[PairedRounds]:
        """``count`` rounds of each named comparison: a drift both builds share, each build's own noise."""
        shape = (len(names), count)
        spreads = np.array([[self.spreads[name]] for name in names]) / math.sqrt(2)
        shifts = np.array([[self.shifts[name]] for name in names])
        drift = np.exp(self.rng.normal(0, 0.2, shape))
        base = 1000 * drift * np.exp(self.rng.normal(0, 1, shape) * spreads)
        candidate = 1000 * (1 + shifts) * drift * np.exp(self.rng.normal(0, 1, shape) * spreads)
        return [
            PairedRounds(name, Impl.PYTHON, "w", tuple(map(float, b)), tuple(map(float, c)))
            for name, b, c in zip(names, base, candidate, strict=True)
        ]

    def screen(self) -> list[PairedRounds]:
        return self.rounds(list(self.shifts), SCREEN_ROUNDS)

    def remeasure(
        self, suspects: Sequence[PairedRounds], look: Look | None = None
    ) -> list[PairedRounds | str]:
        """Fresh rounds of each suspect: the first look's 42, each later one's 21 (``look`` is None when the
        fixed stage 2 of 1cfe57f calls it)."""
        index = 0 if look is None else look.index
        count = FIRST_LOOK_ROUNDS if index == 0 else math.ceil(FIRST_LOOK_ROUNDS / 2)
        names = [suspect.function for suspect in suspects]
        self.asked.append((index, tuple(names), count))
        self.now += self.seconds_per_look
        measured = iter(self.rounds([n for n in names if n != FAILING], count))
        fresh: list[PairedRounds | str] = []
        for name in names:
            if name == FAILING:
                fresh.append("candidate: worker died")
                continue
            rounds = next(measured)
            self.returned.setdefault(name, []).append(rounds)
            fresh.append(rounds)
        return fresh


def golden_suite(seed: int) -> FakeStage2:
    """Suite ``seed`` of the golden file: 30 comparisons, a few slowed, some noisy, one failing in stage 2."""
    rng = np.random.default_rng(20261203 + seed)
    shifts = [float(s) for s in rng.choice([0.0, 0.0, 0.0, 0.06, 0.12, 0.25, -0.2], size=30)]
    spreads = [float(s) for s in rng.uniform(0.01, 0.35, size=30)]
    suite = FakeStage2(rng, shifts, spreads)
    if seed % 3 == 0:  # a slowed comparison whose re-measurement fails
        suite.shifts[FAILING], suite.spreads[FAILING] = 0.3, 0.01
    return suite


def verdict_json(verdict: GateComparison) -> dict[str, Any]:
    data = dataclasses.asdict(verdict)
    data["impl"], data["outcome"] = str(verdict.impl), str(verdict.outcome)
    return data


JudgeFn = Callable[[Sequence[PairedRounds], Any, GatePolicy], tuple[list[GateComparison], Any]]


def one_look_verdicts(judge: JudgeFn) -> list[list[dict[str, Any]]]:
    """Every golden suite's verdicts by ``judge`` (``judge_two_stage``) under ``GOLDEN_POLICY``."""
    suites = []
    for seed in range(GOLDEN_SUITES):
        suite = golden_suite(seed)
        screen = suite.screen()
        verdicts, _ = judge(screen, suite.remeasure, GOLDEN_POLICY)
        suites.append([verdict_json(v) for v in verdicts])
    return suites
