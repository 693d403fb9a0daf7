"""Parity before timing: both sides must give the same outcome on a workload before it is timed.

Outcomes are compared strictly: the same type and value (so ``1`` and ``1.0`` differ), hash objects by
algorithm name and hex digest, exceptions by type name and message. The first difference is described with
the call that produced it, so a reader of ``not_comparable.csv`` can reproduce it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_MAX_REPR_CHARS = 200


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


def _strictly_equal(left: Any, right: Any) -> bool:
    if type(left) is not type(right):
        return False
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(
            _strictly_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_strictly_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def outcomes_differ(rust: Outcome, python: Outcome) -> str | None:
    """None when the outcomes agree, else a one-line description of how they differ."""
    if rust.error_type is not None or python.error_type is not None:
        if (rust.error_type, rust.error_message) == (python.error_type, python.error_message):
            return None
    elif _strictly_equal(rust.value, python.value):
        return None
    return f"rust {rust.describe()}; python {python.describe()}"


def check_batch(
    rust_function: Callable[..., Any], python_function: Callable[..., Any], batch: Sequence[tuple[Any, ...]]
) -> str | None:
    """None when both sides agree on every call of the batch, else the first difference and its call."""
    for index, args in enumerate(batch):
        rust = capture(lambda args=args: rust_function(*args))  # type: ignore[misc]
        python = capture(lambda args=args: python_function(*args))  # type: ignore[misc]
        difference = outcomes_differ(rust, python)
        if difference is not None:
            call = ", ".join(_short_repr(arg) for arg in args)
            return f"call {index + 1} of {len(batch)} ({call}): {difference}"
    return None
