"""Fixtures of the parity suite: ``impl`` runs a test once on the reference and once on sky_rs."""

from __future__ import annotations

from types import ModuleType

import pytest

from .support import reference_module, rust_module


@pytest.fixture(params=["reference", "sky_rs"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """Each implementation in turn. A sky_rs that fails to import or lacks a name fails its case."""
    if request.param == "reference":
        return reference_module()
    return rust_module()
