"""Cells of the CSV files the harness writes and reads (results.csv, baselines, claims.csv): one rule for a
cell left blank, each way.

Kept apart from ``harness.inputs`` (which loads pydantic) because the timing worker reads the claims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def optional_cell(text: str, convert: Callable[[str], T]) -> T | None:
    """None for a blank cell (spaces only), else ``convert(text)``, which raises on a malformed one."""
    return convert(text) if text.strip() else None


def cell_text(value: float | int | str | None) -> str:
    """A value as CSV text: blank for None, ``repr`` for a float (every digit, so it reads back the same)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
