"""One rule for a blank CSV cell, each way: written to results.csv and baselines, read from claims.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cells import cell_text, optional_cell
from harness.functions.claims import load_claims


def test_a_blank_cell_is_none_and_any_other_is_converted() -> None:
    assert optional_cell("", float) is None
    assert optional_cell("   ", int) is None
    assert optional_cell("2.5", float) == 2.5
    with pytest.raises(ValueError, match="could not convert"):
        optional_cell("2.5x", float)


def test_claims_read_blank_times_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text(
        "function,module,claimed_speedup,claimed_rust_ns,claimed_python_ns,source\nf,m,2.5, ,1200,report\n",
        encoding="utf-8",
    )
    [claim] = load_claims(path).values()
    assert claim.claimed_rust_ns is None
    assert claim.claimed_python_ns == 1200.0


def test_a_written_cell_is_blank_for_none_and_keeps_every_digit_of_a_float() -> None:
    assert cell_text(None) == ""
    assert cell_text(0.1 + 0.2) == "0.30000000000000004"  # not rounded: a baseline reads back exactly
    assert float(cell_text(1e-7)) == 1e-7
    assert cell_text(3) == "3"
    assert cell_text("rust") == "rust"
    assert optional_cell(cell_text(None), float) is None  # what is written blank reads back as None
