"""The migration report's claims, which each run checks against what it measured.

Per-function claims come from ``harness/functions/data/claims.csv`` (a committed copy of
``../shared/claims.csv``). The
global claims are stated in the same documents as prose, so they are constants here.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.cells import optional_cell

CLAIMS_CSV = Path(__file__).parent / "data" / "claims.csv"

# "Average speedup 8.5x" (the report does not say which mean; the harness uses the geometric mean).
CLAIMED_MEAN_SPEEDUP = 8.5
# "Memory 15-40% lower": the fraction of Python's allocated bytes that Rust saves.
CLAIMED_MEMORY_REDUCTION_RANGE = (0.15, 0.40)
# "Start-up overhead under 5 ms": the time to import sky_rs in a fresh process.
CLAIMED_IMPORT_TIME_NS = 5_000_000.0

_EXPECTED_COLUMNS = (
    "function",
    "module",
    "claimed_speedup",
    "claimed_rust_ns",
    "claimed_python_ns",
    "source",
)


@dataclass(frozen=True)
class Claim:
    """What the report claims for one function (a pair declared elsewhere may name only the speedup)."""

    function: str
    claimed_speedup: float
    module: str = ""
    claimed_rust_ns: float | None = None
    claimed_python_ns: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not self.claimed_speedup > 0:
            raise ValueError(f"claimed_speedup of {self.function} must be > 0, got {self.claimed_speedup}")


def load_claims(path: Path = CLAIMS_CSV) -> Mapping[str, Claim]:
    """Claims by function name. Raises ValueError on a malformed file, naming the line."""
    claims: dict[str, Claim] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _EXPECTED_COLUMNS:
            raise ValueError(f"{path}: expected columns {_EXPECTED_COLUMNS}, got {reader.fieldnames}")
        for row in reader:
            try:
                claim = Claim(
                    function=row["function"],
                    module=row["module"],
                    claimed_speedup=float(row["claimed_speedup"]),
                    claimed_rust_ns=optional_cell(row["claimed_rust_ns"], float),
                    claimed_python_ns=optional_cell(row["claimed_python_ns"], float),
                    source=row["source"],
                )
            except (TypeError, ValueError) as error:
                raise ValueError(f"{path}:{reader.line_num}: {error}") from error
            if claim.function in claims:
                raise ValueError(f"{path}:{reader.line_num}: duplicate claim for {claim.function}")
            claims[claim.function] = claim
    return claims
