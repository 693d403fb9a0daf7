"""The Ctrl-C policy: the first press stops the measuring only, a deferred step is never cut, later presses
are ignored, and nothing of it outlives the command."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from harness import interrupts


@pytest.fixture(autouse=True)
def _sigint_raises_keyboard_interrupt() -> Iterator[None]:
    # A runner started in the background by a non-interactive shell (`nohup bash .ci/run &`) inherits SIGINT
    # ignored, and Python keeps it so; these tests need Python's own handler, as a terminal session has it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _press() -> None:
    # Python runs the handler before the next bytecode, so the press lands exactly here.
    signal.raise_signal(signal.SIGINT)


def test_a_press_while_measuring_raises_at_once() -> None:
    steps: list[str] = []
    with interrupts.ctrl_c_policy(), pytest.raises(KeyboardInterrupt), interrupts.interruptible():
        _press()
        steps.append("after the press")
    assert steps == []
    assert interrupts.pressed()


def test_a_deferred_step_finishes_then_the_press_is_raised() -> None:
    steps: list[str] = []
    with interrupts.ctrl_c_policy(), pytest.raises(KeyboardInterrupt), interrupts.interruptible():
        with interrupts.deferred():
            _press()
            steps.append("spawned")
            steps.append("handed to its owner")
        steps.append("after the step")
    assert steps == ["spawned", "handed to its owner"]


def test_outside_the_measuring_a_press_is_only_noted(capfd: pytest.CaptureFixture[str]) -> None:
    with interrupts.ctrl_c_policy():
        _press()
        written = "the run folder"
    assert written == "the run folder"
    assert interrupts.pressed()
    assert "Ctrl-C" in capfd.readouterr().err


def test_a_press_before_the_measuring_stops_it_on_entry() -> None:
    steps: list[str] = []
    with interrupts.ctrl_c_policy():
        _press()
        with pytest.raises(KeyboardInterrupt), interrupts.interruptible():
            steps.append("measured")
    assert steps == []


def test_a_second_press_is_ignored_while_the_first_is_handled() -> None:
    with interrupts.ctrl_c_policy():
        with pytest.raises(KeyboardInterrupt), interrupts.interruptible():
            _press()
        # The window between the catch of the first press and the writing of what it kept.
        _press()
        with interrupts.interruptible():
            _press()
    assert interrupts.pressed()


def test_the_previous_handler_comes_back_and_no_press_leaks_into_later_code() -> None:
    with interrupts.ctrl_c_policy():
        _press()  # noted, never raised
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # Without the policy (a test calling run_bench, the gate) the blocks change nothing.
    with interrupts.interruptible(), interrupts.deferred():
        pass
    with pytest.raises(KeyboardInterrupt):
        _press()
