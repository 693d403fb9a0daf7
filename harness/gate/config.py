"""The gate's settings: ``harness/gate/gate.toml`` (policy, per-function floors); the CLI overrides them."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.gate.compare import GatePolicy

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


class ConfigError(ValueError):
    """gate.toml is malformed: a usage error (exit 2)."""


@dataclass(frozen=True)
class GateConfig:
    policy: GatePolicy = field(default_factory=GatePolicy)
    default_floor: float = 1.0
    function_floors: Mapping[str, float] = field(default_factory=dict)

    def floor_for(self, function: str) -> float:
        return self.function_floors.get(function, self.default_floor)


def load_config(path: Path = DEFAULT_CONFIG) -> GateConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read gate settings {path}: {error}") from error
    return parse_config(data, source=str(path))


def parse_config(data: Mapping[str, Any], *, source: str = "gate.toml") -> GateConfig:
    policy_table = data.get("policy", {})
    unknown = set(policy_table) - _POLICY_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown [policy] keys {sorted(unknown)}; known: {sorted(_POLICY_KEYS)}")
    if policy_table.get("correction", "holm") not in {"holm", "bh"}:
        raise ConfigError(f"{source}: [policy] correction must be 'holm' or 'bh'")
    try:
        policy = replace(GatePolicy(), **policy_table)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: [policy]: {error}") from error
    floors = data.get("floors", {})
    default_floor = floors.get("default", 1.0)
    function_floors = floors.get("functions", {})
    values = [default_floor, *function_floors.values()]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ConfigError(f"{source}: [floors] values must be numbers >= 0")
    return GateConfig(
        policy=policy,
        default_floor=float(default_floor),
        function_floors={name: float(value) for name, value in function_floors.items()},
    )
