"""What CI makes of the gate's exit code: ``python -m harness.gate.ci EXIT_CODE GATE_COMPARISONS_JSON``.

Exit 3 passes the job (with a warning) only when ``gate-comparisons.json`` names a known "cannot judge"
reason on the change's side; exit 3 without one (a missing or unreadable file, an unknown reason) fails it,
so a fault of the harness can never hide as a warning. Every other exit code is passed through.
Prints the one line CI shows; GitHub Actions renders a line starting ``::warning`` as an annotation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.gate.outcome import CannotJudgeCode, ExitCode


def ci_verdict(gate_exit: int, comparisons_json: Path) -> tuple[int, str]:
    """The job's exit code and the line to print."""
    if gate_exit != ExitCode.CANNOT_JUDGE:
        return gate_exit, f"gate exit {gate_exit}"
    try:
        data = json.loads(comparisons_json.read_text(encoding="utf-8"))
        reason = data["cannot_judge"]
        code, side, detail = CannotJudgeCode(reason["reason"]), str(reason["side"]), str(reason["detail"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        return (
            ExitCode.USAGE_OR_TOOL_ERROR,
            f"gate exit 3 without a readable reason in {comparisons_json}: {error!r}",
        )
    if side != "change" or code.side != "change":
        return ExitCode.USAGE_OR_TOOL_ERROR, f"gate exit 3 for a reason not about the change: {code} ({side})"
    # One line, and the workflow-command escape for "%", so a build log's text cannot start a command.
    message = " ".join(detail.split()).replace("%", "%25")
    return ExitCode.NO_REGRESSION, f"::warning title=bench gate::cannot judge [{code}]: {message}"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[0].isdigit():
        print("usage: python -m harness.gate.ci EXIT_CODE GATE_COMPARISONS_JSON", file=sys.stderr)
        return ExitCode.USAGE_OR_TOOL_ERROR
    code, line = ci_verdict(int(argv[0]), Path(argv[1]))
    print(line, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
