"""Arrows point down: importing the gate or the measuring engine loads no command, report or telemetry sender.

Each check imports the modules in a fresh interpreter and reads ``sys.modules``: what a module drags in
through any chain of imports counts, not only its own import lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Modules that sit above the gate and the engine: the command layer, the reports and charts, the senders.
UPWARD_PREFIXES = (
    "harness.cli",
    "harness.commands",
    "harness.sinks.report",  # report, report_html, report_floors
    "harness.sinks.charts",
    "harness.sinks.run_folder",
    "harness.telemetry.pushgateway",
    "harness.telemetry.statsd_sink",
    "harness.telemetry.delivery",
    "harness.telemetry.emit",
    "harness.telemetry.publish",
)
ENGINE_MODULES = (
    "harness.gate.gate",
    "harness.gate.measure",
    "harness.gate.calibrate",
    "harness.gate.experiment.runs",
    "harness.measure.bench",
    "harness.measure.timing",
    "harness.sinks.baseline",
    "harness.run_json",
)
_LOADED_AFTER = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(name for name in sys.modules if name.startswith("harness"))))
"""


def _fresh_interpreter(script: str, *args: str) -> str:
    """The stdout of ``script`` run in a new interpreter at the repository root (nothing imported yet)."""
    completed = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def _loaded_by(module: str) -> list[str]:
    loaded: list[str] = json.loads(_fresh_interpreter(_LOADED_AFTER, module))
    return loaded


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_importing_loads_nothing_above_it(module: str) -> None:
    loaded = _loaded_by(module)
    assert module in loaded
    upward = [name for name in loaded if name.startswith(UPWARD_PREFIXES)]
    assert upward == [], f"importing {module} loads {upward}"


def test_a_command_module_loads_no_other_command_module() -> None:
    loaded = _loaded_by("harness.commands.publish")
    commands = [name for name in loaded if name.startswith("harness.commands.")]
    assert commands == ["harness.commands.arguments", "harness.commands.errors", "harness.commands.publish"]


def test_the_top_level_help_loads_no_command_and_no_numerical_library() -> None:
    script = (
        "import sys\nfrom harness.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'numpy', 'pandas', 'scipy', 'matplotlib'} or m.startswith('harness.commands.'))))"
    )
    assert _fresh_interpreter(script).splitlines()[-1] == "harness.commands.errors"
