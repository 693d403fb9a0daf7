"""The injected slowdown: straight-line steps in a Python reference function, a loop in a Rust binding."""

from __future__ import annotations

import ast
import math
import re
import time
from pathlib import Path
from typing import Any

REFERENCE_PACKAGE = Path("harness/functions/reference")
SPIN_VARIABLE = "_skybench_spin"
RUST_BINDINGS = Path("native/src/python")
RUST_SPIN_VARIABLE = "skybench_spin"


class PatchError(ValueError):
    """The function to slow down was not found in the reference sources."""


def spin_lines(iterations: int, indent: str) -> list[str]:
    """``iterations`` straight-line copies of a local into itself (LOAD_FAST, STORE_FAST: about 5 ns here).

    No loop to set up and no allocation, so the delay grows in steps of about 0.5% of a 1 us function. A
    ``while`` countdown's set-up alone cost +5% there and 2 iterations +14%, so 10% was out of reach; and
    ``x += 1`` allocates a new int past 256 (26 ns a step, and allocations the gate would see too).
    """
    return [f"{indent}{SPIN_VARIABLE} = 0\n", *[f"{indent}{SPIN_VARIABLE} = {SPIN_VARIABLE}\n"] * iterations]


def inject_python_slowdown(tree: Path, function: str, iterations: int) -> Path:
    """Inserts the busy loop as the first statement of ``function`` in the tree's reference package."""
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    for source_path in sorted((tree / REFERENCE_PACKAGE).glob("*.py")):
        source = source_path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name == function:
                first = node.body[0]
                has_docstring = (
                    isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)
                )  # fmt: skip
                anchor = node.body[1] if has_docstring and len(node.body) > 1 else first
                lines = source.splitlines(keepends=True)
                insert_at = (first.end_lineno or first.lineno) if has_docstring else anchor.lineno - 1
                indent = " " * anchor.col_offset
                lines[insert_at:insert_at] = spin_lines(iterations, indent)
                source_path.write_text("".join(lines), encoding="utf-8")
                return source_path
    raise PatchError(f"no top-level function {function!r} in {tree / REFERENCE_PACKAGE}")


def rust_spin_lines(iterations: int) -> list[str]:
    # black_box keeps the optimiser from deleting the loop or computing its end in one step.
    return [
        f"    let mut {RUST_SPIN_VARIABLE}: u64 = std::hint::black_box({iterations});\n",
        f"    while {RUST_SPIN_VARIABLE} != 0 {{\n",
        f"        {RUST_SPIN_VARIABLE} = std::hint::black_box({RUST_SPIN_VARIABLE} - 1);\n",
        "    }\n",
    ]


def inject_rust_slowdown(tree: Path, function: str, iterations: int) -> Path:
    """Inserts a busy loop as the first statement of the ``#[pyfunction]`` named ``function``."""
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    signature = re.compile(rf"^pub fn {re.escape(function)}\b", re.MULTILINE)
    for source_path in sorted((tree / RUST_BINDINGS).glob("*.rs")):
        source = source_path.read_text(encoding="utf-8")
        match = signature.search(source)
        if match is None:
            continue
        body_start = source.find("{\n", match.end())
        if body_start < 0:
            raise PatchError(f"{source_path}: no body found after `pub fn {function}`")
        insert_at = body_start + 2
        patched = source[:insert_at] + "".join(rust_spin_lines(iterations)) + source[insert_at:]
        source_path.write_text(patched, encoding="utf-8")
        return source_path
    raise PatchError(f"no `pub fn {function}` in {tree / RUST_BINDINGS}")


def spin_ns_per_iteration(iterations: int = 1000, calls: int = 200, repeats: int = 5) -> float:
    """What one step of ``spin_lines`` costs in this interpreter (the base build uses the same one)."""
    namespace: dict[str, Any] = {}
    body = "".join(spin_lines(iterations, "    "))
    exec(compile(f"def spin():\n{body}", "<spin>", "exec"), namespace)
    spin = namespace["spin"]
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            spin()
        best = min(best, time.perf_counter_ns() - start)
    return best / (iterations * calls)


def inject_slowdowns(tree: Path, *, iterations: tuple[tuple[str, int], ...], rust: bool) -> None:
    for function, count in iterations:
        (inject_rust_slowdown if rust else inject_python_slowdown)(tree, function, count)
