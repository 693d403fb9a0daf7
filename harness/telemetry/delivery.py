"""What each sink did with a run: the ``telemetry.json`` delivery report and the ``unsent/`` payloads.

A sink that could not deliver leaves its payload in ``RUN_DIR/unsent/`` so nothing measured is lost;
``publish`` sends it later and marks the sink delivered in ``telemetry.json``.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import TypeAdapter

from harness.atomic import write_bytes_atomic
from harness.inputs import InputFileError, parse_json, read_bytes

DELIVERY_REPORT_NAME = "telemetry.json"
UNSENT_DIR_NAME = "unsent"
TEXTFILE = "textfile"
PUSHGATEWAY = "pushgateway"
STATSD = "statsd"
SINKS = (TEXTFILE, PUSHGATEWAY, STATSD)
# A full run's exposition is a few hundred kB; a larger "payload" is not one of ours.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class SinkDelivery:
    """The outcome of sending one run to one sink."""

    sink: str  # TEXTFILE, PUSHGATEWAY or STATSD
    target: str  # a path for the textfile, HOST:PORT for a server
    delivered: bool
    attempted_at_unix_s: float
    elapsed_seconds: float
    error: str = ""
    unsent_path: str | None = None  # relative to the run folder
    details: Mapping[str, str] = field(default_factory=dict)  # e.g. the Pushgateway's job and grouping key
    delivered_by: str = ""  # "run" or "publish"


@dataclass(frozen=True)
class DeliveryReport:
    """Every sink's outcome for one run, saved as ``telemetry.json`` in the run folder."""

    run_id: str
    sinks: tuple[SinkDelivery, ...]

    @property
    def all_delivered(self) -> bool:
        return all(sink.delivered for sink in self.sinks)

    @property
    def failures(self) -> tuple[SinkDelivery, ...]:
        return tuple(sink for sink in self.sinks if not sink.delivered)

    def sink(self, name: str) -> SinkDelivery | None:
        return next((sink for sink in self.sinks if sink.sink == name), None)

    def with_sink(self, delivery: SinkDelivery) -> DeliveryReport:
        """This report with ``delivery`` replacing the sink of the same name (or added)."""
        others = tuple(sink for sink in self.sinks if sink.sink != delivery.sink)
        return replace(self, sinks=(*others, delivery))

    def to_json_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "sinks": [asdict(sink) for sink in self.sinks]}


def write_atomically(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so a reader sees the old file or the new one, never half of one."""
    write_bytes_atomic(path, payload)


def save_report(run_dir: Path, report: DeliveryReport) -> Path:
    path = run_dir / DELIVERY_REPORT_NAME
    write_atomically(path, (json.dumps(report.to_json_dict(), indent=2, sort_keys=True) + "\n").encode())
    return path


@cache
def _report_adapter() -> TypeAdapter[DeliveryReport]:
    return TypeAdapter(DeliveryReport)


def inside_run_folder(run_dir: Path, relative: str, *, subfolder: str = "") -> Path:
    """The real path of ``run_dir/relative``, refusing any that leads outside ``run_dir/subfolder``.

    ``relative`` comes from a file in the folder, which may have been made elsewhere: an absolute path, a
    ``..`` or a symlink out of the folder would let it name any file the user can read.
    """
    pure = PurePosixPath(relative)
    if pure.is_absolute():  # PurePosixPath: on Linux, "C:/x" is just an odd relative name
        raise InputFileError(f"{run_dir}: {relative!r} is an absolute path; refusing to read it")
    if ".." in pure.parts:
        raise InputFileError(f"{run_dir}: {relative!r} goes up with '..'; refusing to read it")
    allowed = run_dir.resolve() / subfolder if subfolder else run_dir.resolve()
    real = (run_dir / pure).resolve()
    if not real.is_relative_to(allowed):
        raise InputFileError(
            f"{run_dir}: {relative!r} leads to {real}, outside {allowed} (a symlink?); refusing to read it"
        )
    return real


def read_inside(run_dir: Path, relative: str, *, subfolder: str = "") -> bytes | None:
    """The bytes of a regular file inside the run folder (see ``inside_run_folder``), None if it is absent.

    A FIFO or device would hang or never end the read, so only a regular file of a payload's size is read.
    """
    real = inside_run_folder(run_dir, relative, subfolder=subfolder)
    try:
        status = real.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputFileError(f"{real}: cannot read: {error.strerror}") from error
    if not stat.S_ISREG(status.st_mode):
        raise InputFileError(f"{real}: not a regular file; refusing to read it")
    if status.st_size > MAX_PAYLOAD_BYTES:
        raise InputFileError(f"{real}: {status.st_size} bytes, more than publish reads ({MAX_PAYLOAD_BYTES})")
    try:
        return read_bytes(real)
    except FileNotFoundError:
        return None


def load_report(run_dir: Path) -> DeliveryReport | None:
    """The run's delivery report, or None when the run never wrote one; InputFileError if it is corrupt."""
    raw = read_inside(run_dir, DELIVERY_REPORT_NAME)
    if raw is None:
        return None
    path = run_dir / DELIVERY_REPORT_NAME
    report = parse_json(_report_adapter(), raw, path)
    names = [sink.sink for sink in report.sinks]
    unknown = sorted(set(names) - set(SINKS))
    if unknown or len(set(names)) != len(names):
        raise InputFileError(f"{path}: sinks must be distinct and among {list(SINKS)}, got {names}")
    return report


def keep_unsent(run_dir: Path, file_name: str, payload: bytes) -> str:
    """Store a payload a sink could not send; returns its path relative to the run folder."""
    relative = Path(UNSENT_DIR_NAME) / file_name
    write_atomically(run_dir / relative, payload)
    return relative.as_posix()


def read_unsent(run_dir: Path, relative: str) -> bytes | None:
    """A kept payload, read only from inside ``run_dir/unsent/`` (None if it is gone)."""
    return read_inside(run_dir, relative, subfolder=UNSENT_DIR_NAME)


def discard_unsent(run_dir: Path, relative: str | None) -> None:
    """Remove a payload once delivered (and the ``unsent/`` folder when it is empty).

    Only ever inside ``run_dir/unsent/``: the path is checked as ``read_unsent`` checks it, and the folder
    is removed only if it is a real, empty folder.
    """
    if relative is None:
        return
    inside_run_folder(run_dir, relative, subfolder=UNSENT_DIR_NAME).unlink(missing_ok=True)
    unsent_dir = run_dir / UNSENT_DIR_NAME
    if unsent_dir.is_dir() and not unsent_dir.is_symlink() and not any(unsent_dir.iterdir()):
        unsent_dir.rmdir()
