"""Both sides of the stand-in pair, in pure Python: a loop (the "Python" side) and str.count (the port).

``count_vowels_off_by_one`` is a port that is wrong on any text with a vowel: parity must refuse it.
"""

from __future__ import annotations

_VOWELS = frozenset("aeiouAEIOU")


def count_vowels(text: str) -> int:
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    count = 0
    for character in text:
        if character in _VOWELS:
            count += 1
    return count


def count_vowels_fast(text: str) -> int:
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    return sum(map(text.count, "aeiouAEIOU"))


def count_vowels_off_by_one(text: str) -> int:
    return count_vowels(text) + (1 if any(character in _VOWELS for character in text) else 0)
