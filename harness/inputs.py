"""The loading boundary: files one step or run wrote and a later one reads, checked before they are used.

Every loader (``run.json``, ``telemetry.json``, the unsent payloads, calibrations, baselines, ``gate.toml``)
raises ``InputFileError`` (or a subclass) for a file that is unreadable, truncated, of the wrong shape or
types, never a ``KeyError`` or ``AttributeError`` from deep inside. The command layer turns it into exit 2
and one line on stderr. Types are checked by pydantic against the same frozen dataclasses the harness uses,
in strict mode (no "5" for 5, no 1 for True), so what loads is exactly what a writer could have written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

# Long enough to say what is wrong, short enough that a huge bad value cannot flood the terminal.
MAX_PROBLEM_CHARS = 300


class InputFileError(ValueError):
    """A file the harness reads is not what its writer writes; the message starts with the file's path."""


def one_line(text: str) -> str:
    """``text`` on one line (newlines and runs of spaces become one space), cut to a readable length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_PROBLEM_CHARS else flat[: MAX_PROBLEM_CHARS - 3] + "..."


def describe_validation_error(error: ValidationError) -> str:
    """The first problem pydantic found, as ``where: what``, and how many more there are."""
    problems = error.errors(include_url=False)
    first = problems[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "json_invalid":
        return one_line(f"not valid JSON: {message.removeprefix('Invalid JSON: ')}")
    where = ".".join(str(part) for part in first["loc"])
    value = first.get("input")
    if where and (value is None or isinstance(value, str | int | float)):  # bool is an int
        message += f", got {value!r}"
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return one_line(f"{where}: {message}{more}" if where else f"{message}{more}")


def read_bytes(path: Path, error: type[InputFileError] = InputFileError) -> bytes:
    """The file's bytes; ``error`` naming the file when it cannot be read (FileNotFoundError passes)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as failure:
        raise error(f"{path}: cannot read: {one_line(failure.strerror or str(failure))}") from failure


def read_text(path: Path, error: type[InputFileError] = InputFileError) -> str:
    """The file as UTF-8 text; ``error`` naming the file and the first bad byte when it is not UTF-8."""
    raw = read_bytes(path, error)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as failure:
        raise error(f"{path}: not UTF-8 text (byte {failure.start})") from failure


# One adapter per type, built on first use: building one for RunResult takes 10-100 ms.
_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(shape: type[T]) -> TypeAdapter[T]:
    adapter = _ADAPTERS.get(shape)
    if adapter is None:
        adapter = _ADAPTERS[shape] = TypeAdapter(shape)
    return adapter


def parse_json(
    shape: type[T], raw: bytes | str, path: Path, error: type[InputFileError] = InputFileError
) -> T:
    """``raw`` validated as a ``shape``, strictly; ``error`` naming the file and the first problem."""
    try:
        return _adapter(shape).validate_json(raw, strict=True)
    except ValidationError as failure:
        raise error(f"{path}: {describe_validation_error(failure)}") from failure


def require_finite(
    values: Iterable[tuple[str, float | None]], path: Path, error: type[InputFileError] = InputFileError
) -> None:
    """Each named number is finite (None passes): NaN and infinity read as JSON or TOML but mean nothing."""
    for name, value in values:
        if value is not None and not math.isfinite(value):
            raise error(f"{path}: {name} must be a finite number, got {value!r}")
