"""One rule for a blank CSV cell, shared by claims.csv and the baselines."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cells import optional_cell
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
