"""Fixtures for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.functions.registry import PAIRS_ENV, reset_registered_pairs

# Registering a pair module (``--pairs`` registers while parsing) names it in these for the worker processes.
_REGISTRATION_ENVIRONMENT = (PAIRS_ENV, "PYTHONPATH")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs the suite on every core (pytest-xdist, ``--dist loadgroup``): the tests that need the
    live telemetry stack share one worker, so one stack (a session fixture) serves them all."""
    for item in items:
        if item.get_closest_marker("servers"):
            item.add_marker(pytest.mark.xdist_group("telemetry-stack"))


@pytest.fixture(autouse=True)
def registry_of_built_in_pairs() -> Iterator[None]:
    """The pair registry is process state: every test ends with the built-in pairs only and the environment
    variables registration sets as they were, so a pair one test registered (count_vowels) never shows up in
    another test's report or list."""
    before = {name: os.environ.get(name) for name in _REGISTRATION_ENVIRONMENT}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_registered_pairs()
