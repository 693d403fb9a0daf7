"""One pair, declared once: its name, its two callables, its claim, its workloads and its parity rules.

A pair module (the built-in ones in ``harness/functions/pairs/``, or a user's own, loaded with ``--pairs
MODULE``)
exports ``PAIRS: tuple[PairDeclaration, ...]``. The callables are named, not imported: each process that
calls them (the bench, a timing worker under another build's Python) imports them itself, when needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from harness.functions.claims import Claim
from harness.functions.pairs.workload_types import Args, Workload

# An identifier: what a function label, a CSV cell and a `--only` value can carry unquoted.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TARGET = re.compile(r"[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?")


class ValueMatch(StrEnum):
    """How two returned values are compared."""

    EXACT = "exact"  # the same type and value, walking lists, tuples and dicts (1 and 1.0 differ)
    CLOSE = "close"  # as EXACT, but floats within ``float_rel_tolerance`` of each other


class ErrorMatch(StrEnum):
    """How two raised exceptions are compared."""

    TYPE_AND_MESSAGE = "type_and_message"  # the same type name and the same message
    TYPE = "type"  # the same type name; messages may differ (OS or codec text)
    OWNED_MESSAGE = "owned_message"  # the same type; where Python's message matches an owned pattern,
    # the port's must start with the matched text (the part that is the function's own wording)


@dataclass(frozen=True)
class ParityRules:
    """How the two sides' outcomes of one call must agree before a pair is timed."""

    values: ValueMatch = ValueMatch.EXACT
    float_rel_tolerance: float = 0.0
    errors: ErrorMatch = ErrorMatch.TYPE_AND_MESSAGE
    owned_messages: tuple[str, ...] = ()  # regexes, matched at the start of Python's message

    def __post_init__(self) -> None:
        if not 0.0 <= self.float_rel_tolerance < 1.0:
            raise ValueError(f"float_rel_tolerance must be in [0, 1), got {self.float_rel_tolerance}")
        if self.values is ValueMatch.EXACT and self.float_rel_tolerance:
            raise ValueError("float_rel_tolerance needs values=ValueMatch.CLOSE")
        if self.owned_messages and self.errors is not ErrorMatch.OWNED_MESSAGE:
            raise ValueError("owned_messages needs errors=ErrorMatch.OWNED_MESSAGE")
        for pattern in self.owned_messages:
            re.compile(pattern)  # a bad pattern is a bad declaration, found at registration


class FromClaimsCsv:
    """The claim is the row of ``harness/functions/data/claims.csv`` named after the pair (built-in pairs)."""

    def __repr__(self) -> str:
        return "FROM_CLAIMS_CSV"


FROM_CLAIMS_CSV = FromClaimsCsv()


@dataclass(frozen=True)
class PairDeclaration:
    """A Python function and its port, with what the harness needs to check and time them."""

    name: str
    python: str  # "module" or "module:attribute"; the attribute defaults to ``name``
    rust: str  # the port, any callable (PyO3, Cython, C, Python); the reports call this side Rust
    workloads: tuple[Workload, ...]
    claim: Claim | FromClaimsCsv | None = None
    parity: ParityRules = field(default_factory=ParityRules)
    # Calls both sides must agree on (the spec's example rows); the parity suite runs them for every pair.
    examples: tuple[Args, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"pair name {self.name!r} is not an identifier")
        for side, target in (("python", self.python), ("rust", self.rust)):
            if not isinstance(target, str) or not _TARGET.fullmatch(target):
                raise ValueError(f"pair {self.name}: {side} must be 'module' or 'module:attribute'")
        if not self.workloads:
            raise ValueError(f"pair {self.name} has no workloads")
        ids = [workload.id for workload in self.workloads]
        if len(set(ids)) != len(ids):
            raise ValueError(f"pair {self.name}: duplicate workload ids in {ids}")
        strangers = [workload.id for workload in self.workloads if workload.function != self.name]
        if strangers:
            raise ValueError(f"pair {self.name}: workloads {strangers} belong to another function")
        if isinstance(self.claim, Claim) and self.claim.function != self.name:
            raise ValueError(f"pair {self.name}: its claim is for {self.claim.function}")

    def target(self, side: str) -> tuple[str, str]:
        """(module, attribute) of one side, ``side`` being "rust" or "python"."""
        module, _, attribute = (self.rust if side == "rust" else self.python).partition(":")
        return module, attribute or self.name


def builtin_pair(
    name: str,
    workloads: Sequence[Workload],
    *,
    owned_messages: tuple[str, ...] = (),
    examples: tuple[Args, ...] = (),
) -> PairDeclaration:
    """One of the 12: ``harness.functions.reference`` against ``sky_rs``, its claims.csv claim, exceptions of
    the same type whose SkyPilot wording (``owned_messages``) matches; OS and codec text may differ."""
    return PairDeclaration(
        name=name,
        python=f"harness.functions.reference:{name}",
        rust=f"sky_rs:{name}",
        workloads=tuple(workloads),
        claim=FROM_CLAIMS_CSV,
        parity=ParityRules(errors=ErrorMatch.OWNED_MESSAGE, owned_messages=owned_messages),
        examples=examples,
    )
