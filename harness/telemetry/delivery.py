"""What each sink did with a run: the ``telemetry.json`` delivery report and the ``unsent/`` payloads.

A sink that could not deliver leaves its payload in ``RUN_DIR/unsent/`` so nothing measured is lost;
``publish`` sends it later and marks the sink delivered in ``telemetry.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.atomic import write_bytes_atomic

DELIVERY_REPORT_NAME = "telemetry.json"
UNSENT_DIR_NAME = "unsent"
TEXTFILE = "textfile"
PUSHGATEWAY = "pushgateway"
STATSD = "statsd"


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

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> DeliveryReport:
        sinks = tuple(
            SinkDelivery(**{**sink, "details": dict(sink.get("details", {}))}) for sink in data["sinks"]
        )
        return cls(run_id=str(data["run_id"]), sinks=sinks)


def write_atomically(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so a reader sees the old file or the new one, never half of one."""
    write_bytes_atomic(path, payload)


def save_report(run_dir: Path, report: DeliveryReport) -> Path:
    path = run_dir / DELIVERY_REPORT_NAME
    write_atomically(path, (json.dumps(report.to_json_dict(), indent=2, sort_keys=True) + "\n").encode())
    return path


def load_report(run_dir: Path) -> DeliveryReport | None:
    """The run's delivery report, or None when the run never wrote one."""
    path = run_dir / DELIVERY_REPORT_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a valid delivery report: {error}") from error
    return DeliveryReport.from_json_dict(data)


def keep_unsent(run_dir: Path, file_name: str, payload: bytes) -> str:
    """Store a payload a sink could not send; returns its path relative to the run folder."""
    relative = Path(UNSENT_DIR_NAME) / file_name
    write_atomically(run_dir / relative, payload)
    return relative.as_posix()


def discard_unsent(run_dir: Path, relative: str | None) -> None:
    """Remove a payload once delivered (and the ``unsent/`` folder when it is empty)."""
    if relative is None:
        return
    (run_dir / relative).unlink(missing_ok=True)
    unsent_dir = run_dir / UNSENT_DIR_NAME
    if unsent_dir.is_dir() and not any(unsent_dir.iterdir()):
        unsent_dir.rmdir()
