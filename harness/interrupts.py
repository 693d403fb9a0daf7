"""Ctrl-C for commands that measure and then write: a press stops the measuring and never tears a write.

``ctrl_c_policy()`` wraps a whole command (``bench``, ``baseline``); it is installed before anything is
started, so no press falls outside it. Inside it, a Ctrl-C raises ``KeyboardInterrupt`` only within
``interruptible()`` (the measuring, where ``run_bench`` catches it and keeps what was measured), and even
there not in the middle of a ``deferred()`` block (a step that must not be cut in two, such as spawning a
worker and handing it to the cleanup stack): the press is raised when that block ends. Anywhere else (the
workers' cleanup, writing the run folder and the baseline) a press is only noted: the command finishes the
step it is in, then sees ``pressed()`` and stops before the next one.

Only the first press counts; later ones are ignored, so none can land between the catch of the first and
the writing of what it kept. Outside ``ctrl_c_policy()`` (a test calling ``run_bench``, the gate) these
blocks change nothing and Ctrl-C behaves as Python's default.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

_NOTED_MESSAGE = b"\nskybench: Ctrl-C: finishing the step in progress so nothing is left half-written\n"


@dataclass
class _State:
    installed: bool = False  # inside ctrl_c_policy()
    pressed: bool = False  # a Ctrl-C came since the policy was installed
    delivered: bool = False  # ... and was raised as KeyboardInterrupt
    interruptible: int = 0  # depth of interruptible() blocks
    deferring: int = 0  # depth of deferred() blocks

    def may_raise(self) -> bool:
        return (
            self.installed
            and self.pressed
            and not self.delivered
            and self.interruptible > 0
            and self.deferring == 0
        )


_state = _State()


def _deliver() -> None:
    _state.delivered = True
    raise KeyboardInterrupt


def _on_sigint(_signum: int, _frame: FrameType | None) -> None:
    if _state.pressed:
        return  # already stopping: what was measured is being written
    _state.pressed = True
    if _state.may_raise():
        _deliver()
    if _state.interruptible:
        return  # inside a deferred() block of the measuring: raised as soon as it ends
    # Written straight to the descriptor: the handler may run in the middle of a buffered write to stderr.
    os.write(2, _NOTED_MESSAGE)


def pressed() -> bool:
    """Whether Ctrl-C was pressed since the last ``ctrl_c_policy()`` began."""
    return _state.pressed


@contextmanager
def ctrl_c_policy() -> Iterator[None]:
    """Install the policy for the block (main thread only); the previous SIGINT handler comes back after."""
    _state.pressed = _state.delivered = False
    previous = signal.signal(signal.SIGINT, _on_sigint)
    _state.installed = True
    try:
        yield
    finally:
        _state.installed = False
        signal.signal(signal.SIGINT, previous)


@contextmanager
def interruptible() -> Iterator[None]:
    """Where a Ctrl-C raises ``KeyboardInterrupt``; one pressed before the block is raised on entry."""
    _state.interruptible += 1
    try:
        if _state.may_raise():
            _deliver()
        yield
    finally:
        _state.interruptible -= 1


@contextmanager
def deferred() -> Iterator[None]:
    """A Ctrl-C inside the block is raised when it ends (if raising is allowed there), not in its middle."""
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1
        if _state.may_raise():
            _deliver()
