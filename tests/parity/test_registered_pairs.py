"""Every registered pair, and the stand-in 13th pair of the test suite, agrees on its declared examples and
on every quick-mode workload, compared by its own parity rules (as the bench's parity step compares them).

The function-by-function suites (test_spec_examples.py, test_properties.py) go deeper on the 12 built-in
pairs; ``test_every_built_in_pair_has_rows_and_properties`` holds them to covering every registered one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.functions.pairs.declaration import PairDeclaration
from harness.functions.pairs.workload_types import Mode, prepare
from harness.functions.registry import declared_pairs
from harness.measure.parity import check_batch
from tests.pairs_fixture import pairs as fixture_pairs

DECLARATIONS: tuple[PairDeclaration, ...] = (*declared_pairs().values(), *fixture_pairs.PAIRS)
HERE = Path(__file__).parent


def _side(declaration: PairDeclaration, side: str) -> Callable[..., Any]:
    module, attribute = declaration.target(side)
    function: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
    return function


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workloads")


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda declaration: declaration.name)
def test_both_sides_agree_on_the_declared_examples(declaration: PairDeclaration) -> None:
    difference = check_batch(
        _side(declaration, "rust"), _side(declaration, "python"), declaration.examples, declaration.parity
    )
    assert difference is None, f"{declaration.name}: {difference}"


def _quick_workloads() -> Iterator[Any]:
    for declaration in DECLARATIONS:
        for workload in declaration.workloads:
            if Mode.QUICK in workload.modes:
                yield pytest.param(declaration, workload, id=f"{declaration.name}[{workload.id}]")


@pytest.mark.parametrize(("declaration", "workload"), list(_quick_workloads()))
def test_both_sides_agree_on_every_quick_workload(
    declaration: PairDeclaration, workload: Any, scratch: Path
) -> None:
    prepared = prepare(workload, scratch, seed=0)
    try:
        rust, python = _side(declaration, "rust"), _side(declaration, "python")
        if prepared.adapter is not None:
            rust, python = prepared.adapter(rust), prepared.adapter(python)
        difference = check_batch(rust, python, prepared.batch, declaration.parity)
    finally:
        prepared.close()
    assert difference is None, f"{declaration.name}[{workload.id}]: {difference}"


@pytest.mark.parametrize("name", list(declared_pairs()))
def test_every_built_in_pair_has_rows_and_properties(name: str) -> None:
    # A pair added to harness/functions/pairs/ needs its spec rows and its properties here too, not only
    # examples.
    rows = (HERE / "test_spec_examples.py").read_text(encoding="utf-8")
    properties = (HERE / "test_properties.py").read_text(encoding="utf-8")
    assert name in rows, f"test_spec_examples.py has no rows of {name}"
    assert name in properties, f"test_properties.py has no property of {name}"
