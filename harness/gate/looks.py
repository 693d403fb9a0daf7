"""A sequential stage 2: up to K looks at the suspects, each adding fresh rounds to the ones still open.

Off by default (K = 1 is the fixed stage 2: one look of ``confirm_rounds`` fresh rounds). With K > 1 the
first look is that same fixed stage 2; every further look adds half as many fresh rounds to each suspect
still open, pooled with its earlier looks' rounds, and judges it again on the confirm rule. A suspect leaves
when it is confirmed or cleared (its interval wholly below the effect it is judged against); the loop stops
after K looks, or before a look that would start once ``budget_s`` is spent. A suspect still open at the
end is "suspect not cleared" (exit 3, ``unconfirmed-suspects``).

Error control (docs/gate.md, "Sequential stage 2"): Bonferroni over the fixed maximum of K looks. A
suspect's p-value is the smallest over its looks of K x that look's p, and intervals are at confidence
1 - (1 - confidence) / K; Holm then runs over the suspects as before. The minimum over the looks taken is
never below the minimum over all K looks had they all been taken, which is a valid p-value whatever the
dependence between the looks (they share rounds), so stopping early keeps it valid; Holm is valid for any
dependence between suspects. At K = 1 this is exactly the fixed stage 2.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # looks.py is imported by outcome.py, which compare.py imports
    from harness.gate.compare import GatePolicy

MAX_LOOKS = 20


@dataclass(frozen=True)
class Stage2Looks:
    """How many looks stage 2 may take (``--stage2-looks``) and its time budget (``--stage2-budget``)."""

    looks: int = 1
    budget_s: float | None = None  # None: no budget; else no look starts once this many seconds are spent

    def __post_init__(self) -> None:
        if not 1 <= self.looks <= MAX_LOOKS:
            raise ValueError(f"stage 2 looks must be 1 to {MAX_LOOKS}, got {self.looks}")
        if self.budget_s is not None and not 0 < self.budget_s < math.inf:
            raise ValueError(
                f"the stage-2 budget must be a finite number of seconds > 0, got {self.budget_s}"
            )

    @property
    def sequential(self) -> bool:
        return self.looks > 1

    def confidence(self, policy: GatePolicy) -> float:
        """The intervals' confidence: Bonferroni over the looks (0.95 at K = 1, 0.9875 at K = 4)."""
        return 1 - (1 - policy.confidence) / self.looks

    def combined_p(self, best: float, raw: float) -> float:
        """A suspect's p after one more look: the smaller of its earlier one and K x this look's raw p."""
        return min(best, 1.0, self.looks * raw)

    def describe(self, policy: GatePolicy) -> str:
        """The summary's note on how stage 2 took its looks."""
        budget = "no time budget" if self.budget_s is None else f"no look started after {self.budget_s:g} s"
        return (
            f"sequential stage 2: up to {self.looks} looks (the first of the fixed stage 2's rounds, each "
            f"further one half as many), {budget}; Bonferroni over the looks: p x {self.looks} and "
            f"{self.confidence(policy):.2%} intervals, then {policy.correction} over the suspects"
        )


ONE_LOOK = Stage2Looks()  # the fixed stage 2, the default


@dataclass(frozen=True)
class Look:
    """Which look stage 2's re-measurement is for: ``index`` 0 is the fixed stage 2's, of ``of`` at most."""

    index: int
    of: int = 1


def look_rounds(fixed: int, index: int) -> int:
    """Fresh rounds a look adds: the fixed stage 2's ``fixed`` (``confirm_rounds``) first, then half as
    many each."""
    return fixed if index == 0 else math.ceil(fixed / 2)


def look_order_seed(seed: int, index: int) -> int:
    """The random side orders' seed of look ``index``: the plan's own for the first look (the fixed stage
    2's), then one derived from (seed, index), so no two looks draw the same orders."""
    if index == 0:
        return seed
    digest = hashlib.sha256(f"skybench-stage2-look:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class SuspectLooks:
    """What stage 2 did with one suspect: how many looks it took and the fresh rounds each added."""

    looks: int
    rounds: tuple[int, ...]  # per look taken
    ended: str  # "confirmed", "cleared", "open" (not cleared after the last look), "not re-measured"

    @property
    def total_rounds(self) -> int:
        return sum(self.rounds)


@dataclass(frozen=True)
class Stage2Record:
    """Stage 2's looks over one run, for ``gate-comparisons.json`` and the summary."""

    max_looks: int
    budget_s: float | None
    looks_started: int
    budget_spent: bool  # a look was not started because the budget was spent
    order_seeds: tuple[int, ...] = ()  # the random side orders' seed of each look started
    suspects: dict[str, SuspectLooks] | None = None  # comparison key -> its looks

    def line(self, key: str) -> str:
        """The summary's line for one suspect."""
        taken = (self.suspects or {})[key]
        rounds = " + ".join(str(r) for r in taken.rounds) or "0"
        plural = "s" if taken.looks != 1 else ""
        return (
            f"`{key}`: {taken.ended} after {taken.looks} look{plural} of at most {self.max_looks} "
            f"({rounds} fresh rounds)"
        )
