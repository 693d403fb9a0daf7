"""The gate's settings: ``harness/gate/gate.toml`` (policy, per-function floors); the CLI overrides them.

The file must set every ``[policy]`` key and ``[floors] default``: a policy that silently falls back to
defaults for a key that was deleted, misspelt or cut off is not the policy the file claims.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.functions.registry import FUNCTIONS
from harness.gate.compare import GatePolicy
from harness.inputs import InputFileError, one_line, parse_json, read_text, require_finite
from harness.results import Impl

DEFAULT_CONFIG = Path(__file__).with_name("gate.toml")
_POLICY_KEYS = frozenset(
    {
        "alpha",
        "correction",
        "min_effect",
        "memory_threshold",
        "memory_floor_bytes",
        "instructions_threshold",
        "screen_level",
        "max_suspects",
        "confirm_rounds_factor",
        "confirm_min_rounds",
        "clear_effect",
    }
)
_TABLES = frozenset({"policy", "floors"})
_FLOOR_KEYS = frozenset({"default", "functions", "fallback"})


class ConfigError(InputFileError):
    """gate.toml is malformed: a usage error (exit 2); the message names the file and the key."""


@dataclass(frozen=True)
class GateConfig:
    policy: GatePolicy = field(default_factory=GatePolicy)
    default_floor: float = 1.0
    function_floors: Mapping[str, float] = field(default_factory=dict)
    # [floors.fallback]: the path callers use, where it differs from the function's floor (a documented,
    # measured shortfall of the dispatch; docs/gate.md)
    fallback_floors: Mapping[str, float] = field(default_factory=dict)

    def floor_for(self, function: str, impl: Impl = Impl.RUST) -> float:
        function_floor = self.function_floors.get(function, self.default_floor)
        if impl is Impl.FALLBACK:
            return self.fallback_floors.get(function, function_floor)
        return function_floor


def load_config(path: Path = DEFAULT_CONFIG) -> GateConfig:
    try:
        text = read_text(path, ConfigError)
        data = tomllib.loads(text)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such gate settings file") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {one_line(str(error))}") from error
    return parse_config(data, source=str(path))


def _table(
    data: Mapping[str, Any], key: str, source: str, known: frozenset[str], name: str = ""
) -> Mapping[str, Any]:
    """``data[key]`` (shown as ``[name]``) if it is a table with only ``known`` keys."""
    name = name or key
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [{name}] must be a table, got {type(table).__name__}")
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{source}: unknown [{name}] keys {sorted(unknown)}; known: {sorted(known)}")
    return table


def _policy(table: Mapping[str, Any], source: str) -> GatePolicy:
    if table.get("correction", "holm") not in {"holm", "bh"}:
        raise ConfigError(f"{source}: [policy] correction must be 'holm' or 'bh'")
    try:
        # TOML's types map onto JSON's one to one (a date has no place here and fails), and pydantic's
        # strict JSON mode then refuses "0.05" for 0.05 or true for 1, as TOML itself distinguishes them.
        as_json = json.dumps(table)
    except TypeError as error:
        raise ConfigError(f"{source}: [policy]: {error}") from error
    policy = parse_json(GatePolicy, as_json, Path(f"{source} [policy]"), ConfigError)
    numbers = [(f"[policy] {f.name}", getattr(policy, f.name)) for f in fields(policy)]
    require_finite((item for item in numbers if not isinstance(item[1], str)), Path(source), ConfigError)
    return policy


def _floor(value: object, where: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise ConfigError(f"{source}: {where} must be a finite number >= 0, got {value!r}")
    return float(value)


def parse_config(data: Mapping[str, Any], *, source: str = "gate.toml") -> GateConfig:
    """The settings of a parsed gate.toml: wrong values first, then what is missing, each naming the key."""
    unknown = set(data) - _TABLES
    if unknown:
        raise ConfigError(f"{source}: unknown tables or keys {sorted(unknown)}; known: {sorted(_TABLES)}")
    policy_table = _table(data, "policy", source, _POLICY_KEYS)
    policy = _policy(policy_table, source)
    floors = _table(data, "floors", source, _FLOOR_KEYS)
    functions = _table(floors, "functions", source, frozenset(FUNCTIONS), "floors.functions")
    function_floors = {
        name: _floor(value, f"[floors.functions] {name}", source) for name, value in functions.items()
    }
    fallback = _table(floors, "fallback", source, frozenset(FUNCTIONS), "floors.fallback")
    fallback_floors = {
        name: _floor(value, f"[floors.fallback] {name}", source) for name, value in fallback.items()
    }
    default_floor = _floor(floors.get("default", 0.0), "[floors] default", source)
    missing = sorted(_POLICY_KEYS - set(policy_table))
    if missing:
        raise ConfigError(f"{source}: [policy] must set {missing}")
    if "default" not in floors:
        raise ConfigError(f"{source}: [floors] must set default")
    return GateConfig(
        policy=policy,
        default_floor=default_floor,
        function_floors=function_floors,
        fallback_floors=fallback_floors,
    )
