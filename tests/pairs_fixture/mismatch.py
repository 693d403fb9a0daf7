"""A pair whose port gives other answers than its Python side: the harness must refuse to time it."""

from __future__ import annotations

from harness.functions.pairs.declaration import PairDeclaration
from harness.functions.pairs.workload_types import batch_workload

PAIRS = (
    PairDeclaration(
        name="count_vowels_wrong",
        python="tests.pairs_fixture.sides:count_vowels",
        rust="tests.pairs_fixture.sides:count_vowels_off_by_one",
        workloads=(
            batch_workload("count_vowels_wrong", "words", "three words", lambda _seed: (("sky",), ("aloe",))),
        ),
    ),
)
