"""A deliberately broken "Rust" side for tests: base36_encode answers in upper case, one function raises."""

from harness.functions.reference import _noop, find_free_port, format_float  # noqa: F401  (re-exported as-is)
from harness.functions.reference import base36_encode as _reference_base36_encode


def base36_encode(hex_str: str) -> str:
    return _reference_base36_encode(hex_str).upper()


def truncate_long_string(s: str, max_length: int = 35, truncate_middle: bool = False) -> str:
    raise ValueError("broken on purpose")
