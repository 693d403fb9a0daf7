"""harness.parity: how outcomes of the two sides are compared."""

from __future__ import annotations

import hashlib

from harness.parity import Outcome, check_batch, outcomes_differ


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
