"""Fixtures for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.functions.registry import reset_registered_pairs


@pytest.fixture(autouse=True)
def registry_of_built_in_pairs() -> Iterator[None]:
    """The pair registry is process state (``--pairs`` registers while parsing): every test ends with the
    built-in pairs only, so a pair one test registered never shows up in another's report or list."""
    yield
    reset_registered_pairs()
