"""Helpers of the parity suite: run a call on both sides and compare what came out.

A call's outcome is either its value or its exception. Two outcomes agree when the values are equal with the
same types (NaN equals NaN), or when the exceptions have the same type and, where the spec says the message is
SkyPilot's own text, the same message (spec Decision 2). A ``pyo3_runtime.PanicException`` is always a failure
(spec Decision 5).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

import pytest
from hypothesis import HealthCheck, reject, settings

import harness.functions.reference
from harness.functions.registry import builtin_function_names, declared_pairs

# Examples per property test. Override with SKYBENCH_PARITY_EXAMPLES for a quick local run; CI keeps the
# default. derandomize makes a failure reproducible from the test name alone.
PARITY_EXAMPLES = int(os.environ.get("SKYBENCH_PARITY_EXAMPLES", "2000"))
settings.register_profile(
    "parity",
    max_examples=PARITY_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PARITY_SETTINGS = settings.get_profile("parity")

# The parts of exception messages that are SkyPilot's own text (or the spec's), which must match exactly: the
# built-in pairs' parity rules (harness/functions/pairs/). Anything else (OS, codec and interpreter messages)
# is
# compared by exception type only.
_OWNED_MESSAGE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.DOTALL)
    for name in builtin_function_names()
    for pattern in declared_pairs()[name].parity.owned_messages
)


def rust_module() -> ModuleType:
    """``sky_rs``; an ImportError here fails the Rust cases (they are never skipped)."""
    import sky_rs  # noqa: PLC0415 (imported where needed so a broken build fails tests, not collection)

    return sky_rs


def reference_module() -> ModuleType:
    return harness.functions.reference


@dataclass(frozen=True)
class Outcome:
    """What one call produced: a value, or an exception's type and message."""

    value: object = None
    error_type: type[BaseException] | None = None
    error_message: str = ""
    error: BaseException | None = None

    @property
    def raised(self) -> bool:
        return self.error_type is not None

    def describe(self) -> str:
        if self.error_type is None:
            return f"returned {self.value!r} ({type(self.value).__name__})"
        return f"raised {self.error_type.__module__}.{self.error_type.__qualname__}: {self.error_message}"


def outcome_of(call: Callable[[], object]) -> Outcome:
    """Run ``call`` and capture its outcome; a Rust panic fails the test at once."""
    try:
        return Outcome(value=call())
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as e:  # PanicException derives from BaseException
        if type(e).__name__ == "PanicException":
            pytest.fail(f"Rust panicked across the boundary (spec Decision 5): {e!r}")
        return Outcome(error_type=type(e), error_message=str(e), error=e)


def owned_message_part(message: str) -> str | None:
    """The part of ``message`` that must match exactly, or None if only the type is compared."""
    for pattern in _OWNED_MESSAGE_PATTERNS:
        match = pattern.match(message)
        if match is not None:
            return match.group(0)
    return None


def comparable_value(value: object) -> object:
    """A form of ``value`` whose ``==`` also checks types (so True != 1) and treats NaN as equal to NaN."""
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, float):
        # repr tells -0.0 from 0.0.
        return ("float", repr(value))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [comparable_value(item) for item in value])
    if hasattr(value, "hexdigest") and hasattr(value, "digest"):
        return (
            "hash",
            getattr(value, "name", None),
            getattr(value, "digest_size", None),
            value.digest(),
            value.hexdigest(),
        )
    return (type(value).__name__, value)


def assert_same_outcome(reference: Outcome, rust: Outcome, context: str) -> None:
    """Fail unless both sides returned equal values or raised the same error."""
    if reference.raised != rust.raised:
        pytest.fail(f"{context}: reference {reference.describe()}, sky_rs {rust.describe()}")
    if not reference.raised:
        if comparable_value(reference.value) != comparable_value(rust.value):
            pytest.fail(f"{context}: reference {reference.describe()}, sky_rs {rust.describe()}")
        return
    if reference.error_type is not rust.error_type:
        pytest.fail(
            f"{context}: exception types differ: reference {reference.describe()}, sky_rs {rust.describe()}"
        )
    owned = owned_message_part(reference.error_message)
    if owned is not None and not rust.error_message.startswith(owned):
        pytest.fail(
            f"{context}: messages differ (SkyPilot's own text must match): "
            f"reference {reference.error_message!r}, sky_rs {rust.error_message!r}"
        )


def compare_call(function: str, *args: object, **kwargs: object) -> Outcome:
    """Call ``function`` on the reference and on sky_rs with the same arguments; fail if they disagree.

    Returns the reference's outcome, so callers can add assertions of their own.
    """
    # Looked up outside outcome_of: a name sky_rs lacks must fail the test, not count as an AttributeError.
    reference_function = getattr(reference_module(), function)
    rust_function = getattr(rust_module(), function)
    reference = outcome_of(lambda: reference_function(*args, **kwargs))
    rust = outcome_of(lambda: rust_function(*args, **kwargs))
    assert_same_outcome(reference, rust, f"{function}(*{args!r}, **{kwargs!r})")
    return reference


def compare_call_on_a_busy_host(function: str, *args: object) -> None:
    """``compare_call`` for answers that depend on the host (pids, ports): the reference runs before and after
    sky_rs, and an example whose reference answer changed meanwhile is rejected instead of failing."""
    reference_function = getattr(reference_module(), function)
    rust_function = getattr(rust_module(), function)
    before = outcome_of(lambda: reference_function(*args))
    rust = outcome_of(lambda: rust_function(*args))
    after = outcome_of(lambda: reference_function(*args))
    if (
        comparable_value(before.value) != comparable_value(after.value)
        or before.error_type is not after.error_type
    ):
        reject()
    assert_same_outcome(before, rust, f"{function}(*{args!r})")


_SUBPROCESS_SCRIPT = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
function = getattr(module, sys.argv[2])
for line in sys.stdin:
    args = json.loads(line)
    try:
        print(json.dumps({"value": function(*args)}), flush=True)
    except BaseException as e:
        print(json.dumps({"error_type": type(e).__name__, "error": str(e)}), flush=True)
"""


def outcomes_in_subprocess(
    module: str, function: str, calls: Sequence[Sequence[object]], timeout_s: float
) -> list[dict[str, object]]:
    """Run calls in a fresh interpreter, so that one that never returns (SkyPilot's base36 loop on a negative
    value) fails the test after ``timeout_s`` instead of hanging it. Arguments and results are JSON values."""
    stdin = "".join(json.dumps(list(args)) + "\n" for args in calls)
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS_SCRIPT, module, function],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        done = (e.stdout or b"").count(b"\n") if isinstance(e.stdout, bytes) else (e.stdout or "").count("\n")
        pytest.fail(f"{module}.{function} did not return within {timeout_s} s on {calls[done]!r}")
    lines = completed.stdout.splitlines()
    if len(lines) != len(calls):
        pytest.fail(f"{module}.{function} subprocess ended early: {completed.stderr[-2000:]}")
    return [json.loads(line) for line in lines]
