"""Cells of the CSV files the harness reads (claims.csv, baselines): one rule for a cell left blank.

Kept apart from ``harness.inputs`` (which loads pydantic) because the timing worker reads the claims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def optional_cell(text: str, convert: Callable[[str], T]) -> T | None:
    """None for a blank cell (spaces only), else ``convert(text)``, which raises on a malformed one."""
    return convert(text) if text.strip() else None
