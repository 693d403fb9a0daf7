"""harness.measure.parity: how outcomes of the two sides are compared."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from harness.functions.pairs.declaration import ErrorMatch, ParityRules, ValueMatch
from harness.measure.parity import Outcome, check_batch, outcomes_differ


def test_equal_outcomes() -> None:
    assert outcomes_differ(Outcome(value=[1, "a"]), Outcome(value=[1, "a"])) is None
    assert (
        outcomes_differ(
            Outcome(error_type="ValueError", error_message="x"),
            Outcome(error_type="ValueError", error_message="x"),
        )
        is None
    )


def test_types_count() -> None:
    assert outcomes_differ(Outcome(value=1), Outcome(value=1.0)) is not None
    assert outcomes_differ(Outcome(value=True), Outcome(value=1)) is not None


def test_exception_type_and_message_count() -> None:
    assert outcomes_differ(
        Outcome(error_type="ValueError", error_message="x"),
        Outcome(error_type="TypeError", error_message="x"),
    )
    assert outcomes_differ(
        Outcome(error_type="ValueError", error_message="x"),
        Outcome(error_type="ValueError", error_message="y"),
    )
    assert outcomes_differ(Outcome(value="x"), Outcome(error_type="ValueError", error_message="x"))


class _FakeHash:
    def __init__(self, name: str, hexdigest: str) -> None:
        self.name = name
        self._hexdigest = hexdigest

    def hexdigest(self) -> str:
        return self._hexdigest


def test_hash_objects_compare_by_name_and_hexdigest() -> None:
    real = hashlib.md5(b"x")
    same = _FakeHash("md5", real.hexdigest())
    assert check_batch(lambda: same, lambda: real, [()]) is None
    assert check_batch(lambda: _FakeHash("md5", "0" * 32), lambda: real, [()]) is not None
    assert check_batch(lambda: _FakeHash("sha1", real.hexdigest()), lambda: real, [()]) is not None


def test_first_difference_names_the_call() -> None:
    difference = check_batch(lambda x: x if x < 3 else -x, lambda x: x, [(1,), (2,), (3,), (4,)])
    assert difference is not None
    assert difference.startswith("call 3 of 4 (3)")
    assert "rust returned -3" in difference and "python returned 3" in difference


# --- parity rules (a pair's declaration says how its outcomes compare) ---


def test_a_float_tolerance_accepts_close_floats_only_and_never_other_types() -> None:
    close = ParityRules(values=ValueMatch.CLOSE, float_rel_tolerance=1e-9)
    assert outcomes_differ(Outcome(value=[1.0, 2.0]), Outcome(value=[1.0, 2.0 + 1e-12]), close) is None
    assert outcomes_differ(Outcome(value=1.0), Outcome(value=1.0 + 1e-6), close) is not None
    assert outcomes_differ(Outcome(value=1.0), Outcome(value=1), close) is not None
    assert outcomes_differ(Outcome(value=1.0), Outcome(value=1.0 + 1e-12)) is not None  # the default: exact


def test_type_only_errors_ignore_the_message_but_not_the_type() -> None:
    by_type = ParityRules(errors=ErrorMatch.TYPE)
    os_error = Outcome(error_type="OSError", error_message="[Errno 2] No such file")
    assert (
        outcomes_differ(os_error, Outcome(error_type="OSError", error_message="not found"), by_type) is None
    )
    assert outcomes_differ(os_error, Outcome(error_type="ValueError", error_message="x"), by_type) is not None


def test_owned_messages_must_match_where_the_pattern_does() -> None:
    owned = ParityRules(
        errors=ErrorMatch.OWNED_MESSAGE, owned_messages=(r"Failed to read .*: \[Errno \d+\]",)
    )
    python = Outcome(error_type="OSError", error_message="Failed to read x: [Errno 21] Is a directory")
    same_own_text = Outcome(error_type="OSError", error_message="Failed to read x: [Errno 21] EISDIR")
    other_text = Outcome(error_type="OSError", error_message="Could not read x: [Errno 21] Is a directory")
    assert outcomes_differ(same_own_text, python, owned) is None
    assert outcomes_differ(other_text, python, owned) is not None
    unowned = Outcome(error_type="OSError", error_message="codec text")
    assert outcomes_differ(Outcome(error_type="OSError", error_message="other"), unowned, owned) is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"float_rel_tolerance": 0.1}, "needs values=ValueMatch.CLOSE"),
        ({"values": ValueMatch.CLOSE, "float_rel_tolerance": 1.5}, "must be in"),
        ({"owned_messages": ("x",)}, "needs errors=ErrorMatch.OWNED_MESSAGE"),
        ({"errors": ErrorMatch.OWNED_MESSAGE, "owned_messages": ("(",)}, "missing"),
    ],
)
def test_a_contradictory_rule_is_refused(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, re.error), match=message):
        ParityRules(**arguments)


def test_check_batch_applies_the_rules_it_is_given() -> None:
    rules = ParityRules(values=ValueMatch.CLOSE, float_rel_tolerance=1e-6)
    assert check_batch(lambda x: x * 3 * 0.1, lambda x: x * 0.3, [(1.0,), (7.0,)], rules) is None
    assert check_batch(lambda x: x * 3 * 0.1, lambda x: x * 0.3, [(1.0,), (7.0,)]) is not None
