"""[floors.fallback]: the fallback path's own floor, where its dispatch cannot meet the function's yet."""

from __future__ import annotations

import tomllib

import pytest

from harness.gate.config import DEFAULT_CONFIG, ConfigError, load_config, parse_config
from harness.results import Impl

_POLICY = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))["policy"]


def _config(floors: dict[str, object]) -> dict[str, object]:
    return {"policy": _POLICY, "floors": floors}


def test_the_fallback_floor_applies_to_the_fallback_path_only() -> None:
    config = parse_config(
        _config({"default": 1.0, "functions": {"is_process_alive": 0.9}, "fallback": {"format_float": 0.8}})
    )
    assert config.floor_for("format_float", Impl.FALLBACK) == 0.8
    assert config.floor_for("format_float", Impl.RUST) == 1.0  # Rust direct keeps the function's floor
    # Without a fallback entry, the fallback path has its function's floor.
    assert config.floor_for("is_process_alive", Impl.FALLBACK) == 0.9
    assert config.floor_for("base36_encode", Impl.FALLBACK) == 1.0


def test_an_unknown_function_or_a_bad_value_under_floors_fallback_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"\[floors.fallback\]"):
        parse_config(_config({"default": 1.0, "fallback": {"no_such_function": 0.8}}))
    with pytest.raises(ConfigError, match=r"\[floors.fallback\] format_float must be a finite number"):
        parse_config(_config({"default": 1.0, "fallback": {"format_float": "0.8"}}))


def test_the_committed_settings_lower_no_fallback_floor() -> None:
    config = load_config()
    assert dict(config.fallback_floors) == {}
    assert config.floor_for("truncate_long_string", Impl.RUST) == 1.0
