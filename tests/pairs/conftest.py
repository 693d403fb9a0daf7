"""Each test starts from the built-in pairs, and leaves no registration, SKYBENCH_PAIRS or PYTHONPATH."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.functions.registry import PAIRS_ENV, reset_registered_pairs


@pytest.fixture(autouse=True)
def built_in_pairs_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(PAIRS_ENV, raising=False)
    monkeypatch.setenv("PYTHONPATH", "")
    reset_registered_pairs()
    yield
    reset_registered_pairs()
