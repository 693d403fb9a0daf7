"""Size limits of the sources: no file over 500 lines, no function over 60 (tests and generated files aside).

``python -m scripts.check_code_size [ROOT]`` lists every offender, one per line, and exits 1 if there is any
(0 otherwise, 2 if ROOT is not a directory). ``make lint`` and ``tests/test_code_size.py`` run the same check.

Python functions are measured with ``ast``: ``end_lineno - lineno + 1`` of each ``def`` (methods and nested
functions too; decorators excluded, the docstring included). Rust functions are found by a small scanner of
``fn`` items and their braces, written here because no maintained tool reports both file and function lengths
for Rust (clippy's ``too_many_lines`` counts code lines only and cannot be pointed at a file-length limit).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60
# (folder, suffix) pairs checked, relative to the repository root.
CHECKED_TREES = (("harness", ".py"), ("scripts", ".py"), ("native/src", ".rs"))
GENERATED_MARKER = "@generated"  # a file that says so in its first lines is not hand-written
_MARKER_LINES = 5

# What the Rust scanner blanks out before it counts braces: comments, strings (raw ones too) and char
# literals, so a "{" inside them is not a brace. A lifetime ('a) matches none of these and stays.
_RUST_NOISE = re.compile(
    r"""//[^\n]*"""
    r"""|/\*.*?\*/"""
    r"""|r(?P<hashes>\#*)".*?"(?P=hashes)"""
    r"""|b?"(?:\\.|[^"\\])*\""""
    r"""|b?'(?:\\.|[^'\\])'""",
    re.DOTALL,
)
_RUST_FN = re.compile(r"\bfn\s+[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Offence:
    """One limit broken: the file, the function (empty for the whole file), its length in lines."""

    path: Path
    function: str
    lines: int
    line: int = 1  # where the function starts

    def message(self) -> str:
        if not self.function:
            return f"{self.path}: {self.lines} lines (limit {MAX_FILE_LINES})"
        return f"{self.path}:{self.line}: {self.function} is {self.lines} lines (limit {MAX_FUNCTION_LINES})"


def checked_files(root: Path) -> list[Path]:
    """The hand-written sources under the checked trees, relative to ``root``, sorted."""
    found = []
    for folder, suffix in CHECKED_TREES:
        for path in sorted((root / folder).rglob(f"*{suffix}")):
            if "tests" in path.relative_to(root).parts or _is_generated(path):
                continue
            found.append(path.relative_to(root))
    return found


def _is_generated(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        head = [handle.readline() for _ in range(_MARKER_LINES)]
    return any(GENERATED_MARKER in line for line in head)


def python_functions(source: str) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every ``def`` in ``source``."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                yield name, child.lineno, (child.end_lineno or child.lineno) - child.lineno + 1
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(source), "")


def _blank_noise(source: str) -> str:
    """``source`` with comments, strings and char literals replaced by spaces, newlines kept."""
    return _RUST_NOISE.sub(lambda match: re.sub(r"[^\n]", " ", match.group()), source)


def rust_functions(source: str) -> Iterator[tuple[str, int, int]]:
    """(name, first line, length in lines) of every ``fn`` with a body (``fn f();`` declarations skipped)."""
    code = _blank_noise(source)
    for match in _RUST_FN.finditer(code):
        body_start = _body_start(code, match.end())
        if body_start is None:
            continue
        body_end = _matching_brace(code, body_start)
        first_line = code.count("\n", 0, match.start()) + 1
        last_line = code.count("\n", 0, body_end) + 1
        yield match.group().split()[-1], first_line, last_line - first_line + 1


def _body_start(code: str, position: int) -> int | None:
    """The ``{`` that opens the body after a signature, or None for a bodiless declaration."""
    depth = 0  # of () and [] in the signature, so the ";" of a type like [u8; 4] is not its end
    for index in range(position, len(code)):
        char = code[index]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == ";" and depth == 0:
            return None
        elif char == "{" and depth == 0:
            return index
    return None


def _matching_brace(code: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(code)):
        if code[index] == "{":
            depth += 1
        elif code[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(code) - 1  # unbalanced: count to the end, which a compiler would reject anyway


def offences_in(root: Path, relative: Path) -> list[Offence]:
    """Every limit ``relative`` breaks: its own length, then each long function in order."""
    source = (root / relative).read_text(encoding="utf-8")
    found = []
    file_lines = len(source.splitlines())
    if file_lines > MAX_FILE_LINES:
        found.append(Offence(relative, "", file_lines))
    functions = python_functions(source) if relative.suffix == ".py" else rust_functions(source)
    for name, line, length in functions:
        if length > MAX_FUNCTION_LINES:
            found.append(Offence(relative, name, length, line))
    return found


def all_offences(root: Path) -> list[Offence]:
    return [offence for path in checked_files(root) for offence in offences_in(root, path)]


def report(offences: Sequence[Offence]) -> str:
    """One message naming every offender, so a single run shows everything left to split."""
    if not offences:
        return "code size: every file and function is within its limit"
    lines = [f"code size: {len(offences)} over the limit (split them):"]
    return "\n".join([*lines, *(f"  {offence.message()}" for offence in offences)])


def main(argv: Sequence[str]) -> int:
    root = Path(argv[0]) if argv else Path.cwd()
    if len(argv) > 1 or not root.is_dir():
        usage = "usage: python -m scripts.check_code_size [ROOT]"
        print(f"{usage}: {' '.join(argv)} is not one directory", file=sys.stderr)
        return 2
    offences = all_offences(root)
    print(report(offences), file=sys.stderr if offences else sys.stdout)
    return 1 if offences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
