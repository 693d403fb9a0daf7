"""The shared validators of ``harness.commands.arguments``: bounds hold, nan and inf never get through."""

from __future__ import annotations

import argparse

import pytest

from harness.commands.arguments import (
    bounded_float,
    bounded_int,
    comma_separated,
    fraction_below_one,
    positive_finite_float,
    rounds_count,
)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "0", "60.5", "x", ""])
def test_bounded_seconds_refuse(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        bounded_float(low=0.0, high=60.0)(text)


@pytest.mark.parametrize(("text", "value"), [("60", 60.0), ("0.001", 0.001), ("1e1", 10.0)])
def test_bounded_seconds_accept(text: str, value: float) -> None:
    assert bounded_float(low=0.0, high=60.0)(text) == value


def test_inclusive_and_exclusive_ends() -> None:
    assert fraction_below_one("0") == 0.0
    with pytest.raises(argparse.ArgumentTypeError):
        fraction_below_one("1")
    with pytest.raises(argparse.ArgumentTypeError, match="must be > 0"):
        positive_finite_float("inf")
    assert positive_finite_float("1e300") == 1e300


@pytest.mark.parametrize("text", ["1", "-3", "2.5", "two"])
def test_rounds_need_a_whole_number_of_at_least_two(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        rounds_count(text)


def test_an_upper_bound_on_whole_numbers() -> None:
    processes = bounded_int(low=1, high=64)
    assert processes("64") == 64
    with pytest.raises(argparse.ArgumentTypeError, match="<= 64"):
        processes("65")


def test_comma_separated_checks_each_value() -> None:
    fractions = comma_separated(bounded_float(low=0.0, high=10.0, high_inclusive=False))
    assert fractions("0.05,0.1, 0.25") == (0.05, 0.1, 0.25)
    for text in (",", "0.1,10", "0.1,nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            fractions(text)
