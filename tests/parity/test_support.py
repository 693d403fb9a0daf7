"""The comparison helpers themselves: a helper that cannot fail would make the whole suite pass vacuously."""

from __future__ import annotations

import math

import pytest

from .support import (
    Outcome,
    assert_same_outcome,
    comparable_value,
    compare_call,
    outcome_of,
    outcomes_in_subprocess,
    owned_message_part,
    rust_module,
)


def test_values_compare_with_their_types() -> None:
    assert comparable_value(True) != comparable_value(1)
    assert comparable_value(1.0) != comparable_value(1)
    assert comparable_value(-0.0) != comparable_value(0.0)
    assert comparable_value(math.nan) == comparable_value(float("nan"))
    assert comparable_value(["a\n", "b"]) != comparable_value(["a", "b"])


def test_owned_messages_must_match_and_os_text_need_not() -> None:
    owned = "Failed to read last 3 lines from /x: [Errno 21]"
    assert owned_message_part(owned + " Is a directory: '/x'") == owned
    assert owned_message_part("n must be non-negative. Got -1") == "n must be non-negative. Got -1"
    assert owned_message_part("invalid literal for int() with base 16: 'xyz'") is None


def test_differences_fail() -> None:
    value_error = Outcome(error_type=ValueError, error_message="unsupported hash type nope")
    with pytest.raises(pytest.fail.Exception):
        assert_same_outcome(Outcome(value="73"), Outcome(value="4z"), "values")
    with pytest.raises(pytest.fail.Exception):
        assert_same_outcome(value_error, Outcome(error_type=Exception, error_message="x"), "types")
    with pytest.raises(pytest.fail.Exception):
        assert_same_outcome(
            value_error, Outcome(error_type=ValueError, error_message="Parse error"), "messages"
        )
    with pytest.raises(pytest.fail.Exception):
        assert_same_outcome(value_error, Outcome(value=None), "raised on one side only")
    assert_same_outcome(
        value_error, Outcome(error_type=ValueError, error_message="unsupported hash type nope"), ""
    )


def test_subprocess_guard_fails_a_call_that_does_not_return() -> None:
    with pytest.raises(pytest.fail.Exception, match="did not return"):
        outcomes_in_subprocess("time", "sleep", [[0], [60]], timeout_s=2)


def test_subprocess_guard_reports_errors_by_type() -> None:
    results = outcomes_in_subprocess("math", "sqrt", [[4], [-1]], timeout_s=30)
    assert results == [{"value": 2.0}, {"error_type": "ValueError", "error": "math domain error"}]


def test_a_rust_panic_is_a_failure() -> None:
    class PanicException(BaseException):  # the name pyo3_runtime gives it
        pass

    def panics() -> None:
        raise PanicException("byte index 5 is not a char boundary")

    with pytest.raises(pytest.fail.Exception, match="panicked"):
        outcome_of(panics)


def test_a_name_missing_from_sky_rs_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(rust_module(), "format_float")
    with pytest.raises(AttributeError):
        compare_call("format_float", "3.5")  # the reference raises AttributeError here too
