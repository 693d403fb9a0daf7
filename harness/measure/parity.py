"""Parity before timing: both sides must give the same outcome on a workload before it is timed.

Outcomes are compared by the pair's ``ParityRules`` (its declaration, ``harness/functions/pairs/``). By
default
strictly: the same type and value (so ``1`` and ``1.0`` differ), hash objects by algorithm name and hex
digest, exceptions by type name and message. A pair may allow floats within a relative tolerance, or compare
exceptions by type, or by type and the part of the message that is its own text. The first difference is
described with the call that produced it, so a reader of ``not_comparable.csv`` can reproduce it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.functions.pairs.declaration import ErrorMatch, ParityRules, ValueMatch

_MAX_REPR_CHARS = 200
STRICT = ParityRules()  # the default: same types and values, same exception type and message


@dataclass(frozen=True)
class Outcome:
    """What one call did: returned a (normalised) value, or raised."""

    value: Any = None
    error_type: str | None = None
    error_message: str | None = None

    def describe(self) -> str:
        if self.error_type is not None:
            return f"raised {self.error_type}: {self.error_message}"
        return f"returned {_short_repr(self.value)}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_REPR_CHARS else text[: _MAX_REPR_CHARS - 3] + "..."


def normalise(value: Any) -> Any:
    """A comparable form: hash objects become ("hash", name, hexdigest); containers are walked."""
    if hasattr(value, "hexdigest") and hasattr(value, "name"):
        return ("hash", value.name, value.hexdigest())
    if isinstance(value, list | tuple):
        return type(value)(normalise(item) for item in value)
    return value


def capture(call: Callable[[], Any]) -> Outcome:
    """Runs the call and records its outcome (an exception is an outcome too, not a failure)."""
    try:
        return Outcome(value=normalise(call()))
    except Exception as error:
        return Outcome(error_type=type(error).__name__, error_message=str(error))


def _equal(left: Any, right: Any, rel_tolerance: float) -> bool:
    """The same types and values, walking containers; floats within ``rel_tolerance`` (0: exactly)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(
            _equal(a, b, rel_tolerance) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_equal(left[k], right[k], rel_tolerance) for k in left)
    if rel_tolerance and isinstance(left, float):
        return math.isclose(left, right, rel_tol=rel_tolerance) or (math.isnan(left) and math.isnan(right))
    return bool(left == right)


def _errors_agree(rust: Outcome, python: Outcome, rules: ParityRules) -> bool:
    if rust.error_type != python.error_type:
        return False
    if rules.errors is ErrorMatch.TYPE:
        return True
    if rules.errors is ErrorMatch.TYPE_AND_MESSAGE:
        return rust.error_message == python.error_message
    for pattern in rules.owned_messages:  # OWNED_MESSAGE: only the function's own wording must match
        owned = re.match(pattern, python.error_message or "", re.DOTALL)
        if owned is not None:
            return (rust.error_message or "").startswith(owned.group(0))
    return True


def outcomes_differ(rust: Outcome, python: Outcome, rules: ParityRules = STRICT) -> str | None:
    """None when the outcomes agree under ``rules``, else a one-line description of how they differ."""
    if rust.error_type is not None or python.error_type is not None:
        if _errors_agree(rust, python, rules):
            return None
    else:
        tolerance = rules.float_rel_tolerance if rules.values is ValueMatch.CLOSE else 0.0
        if _equal(rust.value, python.value, tolerance):
            return None
    return f"rust {rust.describe()}; python {python.describe()}"


def check_batch(
    rust_function: Callable[..., Any],
    python_function: Callable[..., Any],
    batch: Sequence[tuple[Any, ...]],
    rules: ParityRules = STRICT,
) -> str | None:
    """None when both sides agree on every call of the batch, else the first difference and its call."""
    for index, args in enumerate(batch):
        rust = capture(lambda args=args: rust_function(*args))  # type: ignore[misc]
        python = capture(lambda args=args: python_function(*args))  # type: ignore[misc]
        difference = outcomes_differ(rust, python, rules)
        if difference is not None:
            call = ", ".join(_short_repr(arg) for arg in args)
            return f"call {index + 1} of {len(batch)} ({call}): {difference}"
    return None
