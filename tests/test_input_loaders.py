"""Each loader, fed any damage to a file it reads, loads it or raises InputFileError; never anything else.

Hypothesis spoils files the harness wrote (cuts them anywhere, flips bytes, replaces them with noise); the
loaders are the boundary where every such file must be caught. Named cases check the message says which
file and what is wrong, for the inputs the subprocess tests leave out (calibrations, which the gate reads
only after building its base, and the rarer spoils).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.gate.calibrate import CalibrationError, load_calibration
from harness.gate.config import load_config
from harness.inputs import InputFileError, parse_json
from harness.run_json import load_run
from harness.sinks.baseline import load_baseline
from harness.telemetry.delivery import load_report
from harness.telemetry.payloads import check_exposition, statsd_gauges

from .corrupt_files import edit_json, make_baseline, make_calibration, make_gate_toml, make_run_folder
from .telemetry.synthetic import MACHINE

LOADER_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load_calibration(path: Path) -> object:
    return load_calibration(path, fingerprint=MACHINE)


def _payload(check: Callable[[bytes, Path], object]) -> Callable[[Path], object]:
    return lambda path: check(path.read_bytes(), path)


# name -> (the file in a folder of valid files, its loader)
LOADERS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "run.json": ("run/run.json", lambda path: load_run(path.parent)),
    "telemetry.json": ("run/telemetry.json", lambda path: load_report(path.parent)),
    "unsent/statsd.txt": ("run/unsent/statsd.txt", _payload(statsd_gauges)),
    "unsent/pushgateway.prom": ("run/unsent/pushgateway.prom", _payload(check_exposition)),
    "calibration": ("calibration.json", _load_calibration),
    "gate.toml": ("gate.toml", load_config),
    "baseline.csv": ("baselines/synthetic-machine.csv", load_baseline),
    # The same CSV without its sidecar: the sidecar's digest would call every spoilt CSV "corrupt" before
    # its rows are read, so the messages about bad cells are checked on a CSV alone.
    "lone baseline.csv": ("lone-baseline/synthetic-machine.csv", load_baseline),
    "baseline.json": (
        "baselines/synthetic-machine.json",
        lambda path: load_baseline(path.with_suffix(".csv")),
    ),
}


def make_folder(folder: Path) -> None:
    make_run_folder(folder / "run")
    make_calibration(folder / "calibration.json")
    make_gate_toml(folder / "gate.toml")
    make_baseline(folder / "baselines")
    make_baseline(folder / "lone-baseline").with_suffix(".json").unlink()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid files of every kind; a test spoils one at a time and puts it back (see ``load_spoilt``)."""
    folder = tmp_path_factory.mktemp("inputs")
    make_folder(folder)
    return folder


def valid_bytes(folder: Path, name: str) -> bytes:
    return (folder / LOADERS[name][0]).read_bytes()


def load_spoilt(folder: Path, name: str, content: bytes) -> None:
    """Load ``content`` as the file ``name`` among valid files: it loads, or raises InputFileError."""
    relative, loader = LOADERS[name]
    path = folder / relative
    original = path.read_bytes()
    path.write_bytes(content)
    try:
        loader(path)
    except InputFileError as error:
        assert str(path) in str(error) or str(folder / "run") in str(error)
        assert "\n" not in str(error)
    except CalibrationError:
        pass  # a sound file of another format or machine: the gate goes on without it, as documented
    finally:
        path.write_bytes(original)


@pytest.mark.parametrize("name", list(LOADERS))
def test_the_valid_files_load(folder: Path, name: str) -> None:
    relative, loader = LOADERS[name]
    assert loader(folder / relative) is not None


@pytest.mark.parametrize("name", list(LOADERS))
@LOADER_SETTINGS
@given(cut=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_a_cut_file_loads_or_is_an_input_file_error(folder: Path, name: str, cut: float) -> None:
    raw = valid_bytes(folder, name)
    load_spoilt(folder, name, raw[: math.floor(len(raw) * cut)])


@pytest.mark.parametrize("name", list(LOADERS))
@LOADER_SETTINGS
@given(data=st.data())
def test_a_flipped_byte_loads_or_is_an_input_file_error(folder: Path, name: str, data: st.DataObject) -> None:
    raw = bytearray(valid_bytes(folder, name))
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[index] = data.draw(st.integers(min_value=0, max_value=255))
    load_spoilt(folder, name, bytes(raw))


@pytest.mark.parametrize("name", list(LOADERS))
@LOADER_SETTINGS
@given(noise=st.binary(max_size=2048))
def test_noise_loads_or_is_an_input_file_error(folder: Path, name: str, noise: bytes) -> None:
    load_spoilt(folder, name, noise)


def spoil_and_load(tmp_path: Path, name: str, spoil: Callable[[bytes], bytes]) -> InputFileError:
    relative, loader = LOADERS[name]
    make_folder(tmp_path)
    path = tmp_path / relative
    path.write_bytes(spoil(path.read_bytes()))
    with pytest.raises(InputFileError) as raised:
        loader(path)
    return raised.value


def _sink_details(details: dict[str, object]) -> Callable[[bytes], bytes]:
    return lambda raw: edit_json(raw, lambda data: data["sinks"][-1].update(details=details))


def _comparison(change: Callable[[dict[str, object]], object]) -> Callable[[bytes], bytes]:
    return lambda raw: edit_json(raw, lambda data: change(next(iter(data["comparisons"].values()))))


@pytest.mark.parametrize(
    ("name", "spoil", "message"),
    [
        ("calibration", lambda raw: raw[: len(raw) // 2], "calibration.json: not valid JSON"),
        ("calibration", lambda raw: b"\xff" + raw, "calibration.json: not valid JSON"),
        (
            "calibration",
            _comparison(lambda noise: noise.update(noise_floor="low")),
            "noise_floor: Input should",
        ),
        ("calibration", _comparison(lambda noise: noise.pop("round_spread")), "round_spread: Field required"),
        ("calibration", _comparison(lambda noise: noise.update(noise_floor=-0.1)), "must be finite and >= 0"),
        ("calibration", lambda raw: raw.replace(b"0.012", b"NaN"), "must be finite and >= 0"),
        ("calibration", _comparison(lambda noise: noise.update(key="x")), "holds key 'x'"),
        ("calibration", lambda raw: edit_json(raw, lambda data: data.pop("runs")), "runs: Field required"),
        ("gate.toml", lambda raw: raw.replace(b"min_effect = 0.05", b"min_effect = nan"), "finite number"),
        (
            "gate.toml",
            lambda raw: raw.replace(b"find_free_port = 0.9", b"find_free_prot = 0.9"),
            "unknown [floors.functions]",
        ),
        ("gate.toml", lambda raw: raw.replace(b"default = 1.0", b"default = -1"), "[floors] default must be"),
        ("gate.toml", lambda raw: raw.replace(b"[floors]", b"floors = 3\n[x]"), "unknown tables or keys"),
        (
            "lone baseline.csv",
            lambda raw: raw.replace(b"rust", b"ru\0st", 1),
            "impl: 'ru\\x00st' is not a valid",
        ),
        ("lone baseline.csv", lambda raw: raw.replace(b"437.625", b"inf", 1), "not a finite number"),
        ("lone baseline.csv", lambda raw: raw.splitlines(keepends=True)[0], "no rows"),
        ("baseline.csv", lambda raw: raw.replace(b"437.625", b"437.6", 1), "baseline is corrupt"),
        (
            "baseline.json",
            lambda raw: edit_json(raw, lambda data: data.update(environment="x")),
            "environment:",
        ),
        ("telemetry.json", _sink_details({"job": 1}), "details.job: Input should be a valid string, got 1"),
    ],
)
def test_the_message_names_the_file_and_the_problem(
    tmp_path: Path, name: str, spoil: Callable[[bytes], bytes], message: str
) -> None:
    error = spoil_and_load(tmp_path, name, spoil)
    assert str(tmp_path) in str(error) and message in str(error)


def test_a_calibration_of_another_machine_is_not_corrupt(tmp_path: Path) -> None:
    path = make_calibration(tmp_path / "calibration.json", fingerprint="elsewhere")
    with pytest.raises(CalibrationError, match="elsewhere") as raised:
        load_calibration(path, fingerprint=MACHINE)
    assert not isinstance(raised.value, InputFileError)  # the gate notes it and goes on without floors
    other_format = edit_json(path.read_bytes(), lambda data: data.update(format_version=0))
    path.write_bytes(other_format)
    with pytest.raises(CalibrationError, match="format 0"):
        load_calibration(path, fingerprint=MACHINE)


def test_strings_are_not_taken_for_numbers(tmp_path: Path) -> None:
    error = spoil_and_load(
        tmp_path, "run.json", lambda raw: edit_json(raw, lambda data: data.update(duration_seconds="42.5"))
    )
    assert "duration_seconds: Input should be a valid number, got '42.5'" in str(error)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["duration_seconds"] == "42.5"


def test_a_loader_validates_against_the_type_it_names_once_built(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class Shape:
        count: int

    assert parse_json(Shape, b'{"count": 3}', tmp_path / "x.json") == Shape(3)
    assert parse_json(Shape, b'{"count": 4}', tmp_path / "x.json") == Shape(4)  # the cached adapter
    with pytest.raises(InputFileError, match=r"x\.json: count: Input should be a valid integer"):
        parse_json(Shape, b'{"count": "5"}', tmp_path / "x.json")  # strict: no "5" for 5
