"""The gate catches +400 ns in the fallback: a scratch commit puts a 400 ns busy-wait in front of
harness.functions.fallback's truncate_long_string, and the quick gate against the clean commit exits 1
naming the fallback side.

The scratch commit lives in a linked worktree of this repository (removed afterwards), so the gate's base
build of the clean commit is the one the other gate tests keep in ``.skybench/test-gate`` (incremental after
the first run). The candidate is that worktree with this interpreter: the patch touches Python only, and
``--no-rebuild`` refuses rather than rebuild when this tree's sky_rs is not a build of the commit's sources.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_GATE_DIR = REPO / ".skybench" / "test-gate"
# The tests that build into TEST_GATE_DIR run on one worker when the suite runs in parallel.
pytestmark = pytest.mark.xdist_group("test-gate")
FALLBACK_SOURCE = Path("harness/functions/fallback.py")
FUNCTION = "truncate_long_string"
DELAY_NS = 400
EXIT_REGRESSION = 1


def _git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=True
    )
    return completed.stdout.strip()


def add_busy_wait(source: str, function: str, delay_ns: int) -> str:
    """``source`` with ``function`` rebound, at the end of the module, to a Python wrapper that busy-waits
    ``delay_ns`` (time.perf_counter_ns) and then calls the entry it replaces: the fallback's fast path is
    ``sky_rs.dispatch``'s, so a slower fallback in a Python-only commit is a wrapper in front of it."""
    names = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    assert function in names, f"the module never names {function}: nothing to wrap"
    wrapper = (
        "\n\nimport time as _spin_time\n"
        f"_unslowed_{function} = {function}\n\n\n"
        f"def {function}(*args, **kwargs):\n"
        f"    _spin_end_ns = _spin_time.perf_counter_ns() + {delay_ns}\n"
        "    while _spin_time.perf_counter_ns() < _spin_end_ns:\n"
        "        pass\n"
        f"    return _unslowed_{function}(*args, **kwargs)\n"
    )
    return source + wrapper


def test_the_busy_wait_wraps_the_function_callers_get() -> None:
    source = '"""Doc."""\nfrom __future__ import annotations\n\nf = abs\n'
    namespace: dict[str, object] = {}
    patched = add_busy_wait(source, "f", 10)
    exec(compile(patched, "<patched>", "exec"), namespace)
    assert namespace["f"](-3) == 3  # type: ignore[operator]
    assert namespace["_unslowed_f"] is abs
    assert "_spin_end_ns" in patched


@pytest.fixture
def slowed_worktree(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A linked worktree at a scratch commit (HEAD + the busy-wait); yields it and the clean commit."""
    clean = _git(REPO, "rev-parse", "HEAD")
    tree = tmp_path / "slowed"
    _git(REPO, "worktree", "add", "--detach", str(tree), clean)
    try:
        path = tree / FALLBACK_SOURCE
        path.write_text(add_busy_wait(path.read_text(encoding="utf-8"), FUNCTION, DELAY_NS), encoding="utf-8")
        identity = ["-c", "user.name=skybench test", "-c", "user.email=test@skybench.invalid"]
        _git(tree, *identity, "commit", "-q", "-am", f"+{DELAY_NS} ns in the fallback's {FUNCTION}")
        yield tree, clean
    finally:
        _git(REPO, "worktree", "remove", "--force", str(tree))


@pytest.mark.slow
@pytest.mark.timeout(2400)  # the first run builds the clean commit's sky_rs (release, fat LTO)
def test_the_gate_catches_400_ns_in_the_fallback(slowed_worktree: tuple[Path, str], tmp_path: Path) -> None:
    tree, clean = slowed_worktree
    out = tmp_path / "gate"
    arguments = ["gate", "--quick", "--only", FUNCTION, "--against", clean, "--no-rebuild"]
    places = ["--gate-dir", str(TEST_GATE_DIR), "--out", str(out), "--no-push"]
    completed = subprocess.run(
        [sys.executable, "-m", "harness", *arguments, *places],
        cwd=tree, capture_output=True, text=True, timeout=2300, check=False,
    )  # fmt: skip
    if completed.returncode == 2 and "was not built from this tree" in completed.stderr:
        pytest.skip(f"this tree's sky_rs is not a build of HEAD's Rust sources: {completed.stderr.strip()}")
    assert completed.returncode == EXIT_REGRESSION, completed.stdout[-3000:] + completed.stderr[-3000:]
    written = json.loads((out / "gate-comparisons.json").read_text(encoding="utf-8"))
    comparisons = written["comparisons"]
    # The floor-drift warning ran in this real gate: every Rust time comparison has its floor beside it.
    drift = written["floor_drift"]
    rust_timed = {c["workload"] for c in comparisons if c["impl"] == "rust" and c["metric"] == "time"}
    assert drift["checked"] and drift["not_checked"] is None, drift
    checked = {pair["workload"] for pair in drift["pairs"]}
    assert checked and checked <= rust_timed, drift
    assert all(pair["base_floor_ns"] > 0 for pair in drift["pairs"]), drift
    regressions = {(c["impl"], c["metric"]) for c in comparisons if c["outcome"] == "regression"}
    assert ("fallback", "time") in regressions, regressions
    assert all(impl == "fallback" for impl, _ in regressions), "only the fallback was slowed down"
