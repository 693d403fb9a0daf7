"""String helpers: SkyPilot 0.14.1 ``sky/utils/common_utils.py`` (spec sections 2.4-2.6)."""

from __future__ import annotations

_BASE36_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_ELLIPSIS = "..."


def base36_encode(hex_str: str) -> str:
    """Base-36 digits (lower case) of ``int(hex_str, 16)`` (spec 2.4).

    Deviations (spec Decision 3): non-ASCII text and negative values raise ``ValueError``; SkyPilot accepts
    Unicode digits and loops forever on a negative value.
    """
    if isinstance(hex_str, str) and not hex_str.isascii():
        raise ValueError(f"invalid literal for int() with base 16: {hex_str!r}")
    value = int(hex_str, 16)
    if value < 0:
        raise ValueError(f"base36_encode does not accept a negative value: {hex_str!r}")
    if value == 0:
        return "0"
    digits: list[str] = []
    while value != 0:
        value, remainder = divmod(value, 36)
        digits.append(_BASE36_ALPHABET[remainder])
    return "".join(reversed(digits))


def format_float(num: float | int, precision: int = 1) -> str:
    """``str`` of an int, no decimals for a whole float, else ``precision`` decimals (spec 2.5)."""
    if isinstance(num, int):
        return str(num)
    return f"{num:.0f}" if num.is_integer() else f"{num:.{precision}f}"


def truncate_long_string(s: str, max_length: int = 35, truncate_middle: bool = False) -> str:
    """SkyPilot's truncation, quirks included (spec 2.6): end mode may cut past the limit."""
    if len(s) <= max_length:
        return s
    if truncate_middle:
        if max_length <= len(_ELLIPSIS):
            return _ELLIPSIS
        kept = max_length - len(_ELLIPSIS)
        tail_length = kept // 2
        head_length = kept - tail_length
        if tail_length == 0:
            return s[:head_length] + _ELLIPSIS
        return s[:head_length] + _ELLIPSIS + s[-tail_length:]
    words = s.split(" ")
    if len(words[0]) > max_length:
        return words[0][:max_length] + _ELLIPSIS
    # The first word index at which the word lengths (spaces not counted) reach max_length.
    index = 0
    total_length = 0
    for index, word in enumerate(words):  # noqa: B007 (the loop variable is used after the loop)
        total_length += len(word)
        if total_length >= max_length:
            break
    prefix = " ".join(words[:index])
    if len(prefix) < max_length:
        prefix += s[len(prefix) : max_length]
    return prefix + _ELLIPSIS
