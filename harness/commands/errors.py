"""The error policy every command runs under: exit codes, one-line errors, the parser class.

Imported by the dispatcher and by each command module; it imports no command module, so there is no cycle.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from harness.inputs import InputFileError, one_line

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """Arguments that parse but do not make sense together; the command exits 2 with the message."""


class Parser(argparse.ArgumentParser):
    """argparse with a usage error on one line (what is wrong, and where the options are), exit 2.

    The full usage block argparse prints first buries the one line that matters; ``--help`` still shows it.
    Subcommand parsers are of the same class (``add_subparsers`` uses the parent's).
    """

    def error(self, message: str) -> NoReturn:
        flat = " ".join(message.split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {flat} (see {self.prog} --help)\n")


def run_handler(command: str, handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command's handler under the error policy every command shares.

    A bad argument (``UsageError``), a bad input file (``InputFileError``, raised where the file is read) or
    a file system that refuses (``OSError``: a full disk, a read-only folder) is exit 2 with one line naming
    the problem. Anything else escaping a handler is a bug of the harness: still one line and exit 2, never
    a traceback that CI might read as a verdict.
    """
    try:
        return handler(args)
    except (UsageError, InputFileError, OSError) as error:
        print(f"skybench {command}: error: {one_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"skybench {command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last resort: the tests show each known bad input is validated earlier
        print(
            f"skybench {command}: internal error: {type(error).__name__}: {one_line(str(error))} "
            "(please report)",
            file=sys.stderr,
        )
        return EXIT_USAGE
