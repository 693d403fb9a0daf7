"""harness.functions.claims: the committed copy of the claims matches the shared one and parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.functions.claims import CLAIMS_CSV, load_claims
from harness.functions.registry import FUNCTIONS

SHARED_CLAIMS = Path(__file__).resolve().parents[2].parent / "shared" / "claims.csv"


@pytest.mark.skipif(not SHARED_CLAIMS.exists(), reason="../shared/claims.csv is not present here")
def test_committed_copy_equals_the_shared_claims() -> None:
    assert CLAIMS_CSV.read_bytes() == SHARED_CLAIMS.read_bytes()


def test_every_function_has_a_claim() -> None:
    claims = load_claims()
    assert set(claims) == set(FUNCTIONS)
    assert claims["estimate_fd_for_directory"].claimed_speedup == 2.7
    assert claims["is_process_alive"].claimed_rust_ns == 200.0
    assert claims["base36_encode"].claimed_rust_ns is None


def test_a_malformed_claim_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "claims.csv"
    header = "function,module,claimed_speedup,claimed_rust_ns,claimed_python_ns,source\n"
    bad.write_text(header + "hash_file,io_utils,7,,,x\nformat_float,string_utils,fast,,,x\n")
    with pytest.raises(ValueError, match=r"claims.csv:3"):
        load_claims(bad)


def test_wrong_columns_are_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "claims.csv"
    bad.write_text("function,speedup\nhash_file,7\n")
    with pytest.raises(ValueError, match="expected columns"):
        load_claims(bad)
