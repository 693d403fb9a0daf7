"""Checks of what ``publish`` reads from a run folder before it sends anything of it.

A run folder may come from another machine or another person, so what it holds is input, not trusted
output: the kept payloads (``unsent/pushgateway.prom``, ``unsent/statsd.txt``) must parse as what the run
would have sent, and the Pushgateway group recorded in ``telemetry.json`` must be made of label names and
values. Each problem is an ``InputFileError`` naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from harness.inputs import InputFileError, one_line
from harness.telemetry.statsd_sink import StatsdGauge, parse_payload

_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPLACE_GROUP = {"true": True, "false": False}


def check_exposition(raw: bytes, path: Path) -> bytes:
    """``raw`` if it is Prometheus text with at least one sample, as ``metrics.prom`` is."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(f"{path}: not UTF-8 (byte {error.start}): not a Prometheus payload") from error
    try:
        samples = sum(len(family.samples) for family in text_string_to_metric_families(text))
    except ValueError as error:
        raise InputFileError(f"{path}: not Prometheus text: {one_line(str(error))}") from error
    if samples == 0:
        raise InputFileError(f"{path}: no samples in it: not a Prometheus payload")
    return raw


def statsd_gauges(raw: bytes, path: Path) -> list[StatsdGauge]:
    """The gauges of a kept StatsD payload: ASCII lines ``name:value|g``, each value finite."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as error:
        raise InputFileError(f"{path}: not ASCII (byte {error.start}): not a StatsD payload") from error
    try:
        gauges = parse_payload(text)
    except ValueError as error:
        raise InputFileError(f"{path}: {one_line(str(error))}") from error
    if not gauges:
        raise InputFileError(f"{path}: no gauges in it: not a StatsD payload")
    return gauges


@dataclass(frozen=True)
class PushGroup:
    """Where a kept Pushgateway payload goes: job, grouping key, and whether it replaces the group."""

    job: str
    labels: Mapping[str, str]
    replace_group: bool


def push_group(details: Mapping[str, str], default_job: str, path: Path) -> PushGroup:
    """The group recorded with a kept payload (``telemetry.json`` details), checked label by label."""
    labels = {key: value for key, value in details.items() if key not in {"job", "replace_group"}}
    job = details.get("job", default_job)
    replace_text = details.get("replace_group", "true")
    for name, value in {"job": job, **labels}.items():
        if not _LABEL_NAME.match(name) or not value or any(ord(char) < 32 for char in value):
            raise InputFileError(
                f"{path}: Pushgateway group {name}={value!r}: a label needs a name of letters, digits and _ "
                "and a non-empty printable value"
            )
    if replace_text not in _REPLACE_GROUP:
        raise InputFileError(f"{path}: replace_group must be 'true' or 'false', got {replace_text!r}")
    return PushGroup(job, labels, _REPLACE_GROUP[replace_text])
