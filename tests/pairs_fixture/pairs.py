"""The stand-in 13th pair: ``count_vowels``, its claim, its workloads and its parity rules."""

from __future__ import annotations

from harness.functions.claims import Claim
from harness.functions.pairs.declaration import ErrorMatch, PairDeclaration, ParityRules
from harness.functions.pairs.workload_types import Args, batch_rng, batch_workload

_WORDS = ("sky", "launch", "cluster", "replica", "autoscaler", "rhythm", "queue")


def _sentences(seed: int) -> tuple[Args, ...]:
    rng = batch_rng(seed, "count-vowels")
    return tuple((" ".join(rng.choices(_WORDS, k=rng.randrange(1, 12))),) for _ in range(200))


PAIRS = (
    PairDeclaration(
        name="count_vowels",
        python="tests.pairs_fixture.sides:count_vowels",
        rust="tests.pairs_fixture.sides:count_vowels_fast",
        workloads=(batch_workload("count_vowels", "sentences", "200 sentences of 1-11 words", _sentences),),
        claim=Claim(function="count_vowels", claimed_speedup=1.5, source="the test suite"),
        parity=ParityRules(errors=ErrorMatch.TYPE),
        examples=(("",), ("rhythm",), ("AEIOU aeiou",), (None,)),
    ),
)
