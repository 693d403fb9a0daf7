"""Declares ``count_vowels`` again, as ``tests.pairs_fixture.pairs`` does: registering both is refused."""

from tests.pairs_fixture.pairs import PAIRS

__all__ = ["PAIRS"]
