"""A run folder's ``run.json`` (the ``RunResult`` of ``harness/results.py``), and the safe read of any file in
a run folder.

Beside the values it stores, below every sink: the bench's run folder, the gate's folder, the telemetry's
``publish`` and ``history`` all read and write it through here.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path, PurePosixPath

from harness.atomic import write_json_atomic
from harness.inputs import InputFileError, parse_json, read_bytes
from harness.results import READABLE_FORMAT_VERSIONS, RESULTS_FORMAT_VERSION, RunResult

RUN_JSON_NAME = "run.json"
# A full run's exposition is a few hundred kB; a larger "payload" is not one of ours.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


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


def save_run(run: RunResult, run_dir: Path) -> Path:
    """Write ``run_dir/run.json``, what ``load_run`` reads back (a bench run folder, the gate's folder)."""
    path = run_dir / RUN_JSON_NAME
    return write_json_atomic(path, run.to_json_dict())


def load_run(run_dir: Path) -> RunResult | None:
    """The run's ``run.json``, or None when the folder has none; InputFileError naming what is wrong."""
    raw = read_inside(run_dir, RUN_JSON_NAME)
    if raw is None:
        return None
    path = run_dir / RUN_JSON_NAME
    try:
        version = json.loads(raw).get("format_version")
    except (ValueError, RecursionError, AttributeError):  # not JSON, or not an object: told below
        version = RESULTS_FORMAT_VERSION
    if version not in READABLE_FORMAT_VERSIONS:
        readable = ", ".join(map(str, sorted(READABLE_FORMAT_VERSIONS)))
        raise InputFileError(f"{path}: format {version!r} is not supported (this harness reads {readable})")
    return parse_json(RunResult, raw, path)
