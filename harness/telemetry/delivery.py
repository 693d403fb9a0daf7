"""What each sink did with a run: the ``telemetry.json`` delivery report and the ``unsent/`` payloads.

A sink that could not deliver leaves its payload in ``RUN_DIR/unsent/`` so nothing measured is lost;
``publish`` sends it later and marks the sink delivered in ``telemetry.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.atomic import write_bytes_atomic, write_json_atomic
from harness.inputs import InputFileError, parse_json
from harness.run_json import inside_run_folder, read_inside

DELIVERY_REPORT_NAME = "telemetry.json"
UNSENT_DIR_NAME = "unsent"
TEXTFILE = "textfile"
PUSHGATEWAY = "pushgateway"
STATSD = "statsd"
SINKS = (TEXTFILE, PUSHGATEWAY, STATSD)


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
    write_json_atomic(path, report.to_json_dict())
    return path


def load_report(run_dir: Path) -> DeliveryReport | None:
    """The run's delivery report, or None when the run never wrote one; InputFileError if it is corrupt."""
    raw = read_inside(run_dir, DELIVERY_REPORT_NAME)
    if raw is None:
        return None
    path = run_dir / DELIVERY_REPORT_NAME
    report = parse_json(DeliveryReport, raw, path)
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
