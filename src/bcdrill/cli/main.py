"""The `drill` entry point: parse arguments, call one command function, map errors to exit codes.

This module is the single error boundary: `DrillError` subclasses become a message and their exit
code (2: invalid input or usage); anything else is a bug and is reported as such. The commands live
in scenarios.py, runs.py, records.py and labs.py; their parsers in parsers.py. Heavy modules are
imported inside the command functions so that `drill --help` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from bcdrill.cli.common import EXIT_ABORTED, EXIT_BUG, EXIT_OK, Command
from bcdrill.cli.parsers import build_parser
from bcdrill.common.errors import DrillError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except DrillError as exc:
        print(_error_text(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("drill: interrupted", file=sys.stderr)
        return EXIT_ABORTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the one place a bug is turned into a message
        if os.environ.get("BCDRILL_DEBUG"):
            raise
        print(
            f"drill: internal error: {type(exc).__name__}: {exc} — this is a bug in bcdrill; "
            "run again with BCDRILL_DEBUG=1 to see the traceback",
            file=sys.stderr,
        )
        return EXIT_BUG


def _error_text(exc: DrillError) -> str:
    text = str(exc)
    problems = getattr(exc, "problems", None)
    if problems:
        return f"{text}\n{len(problems)} problem(s); nothing was executed"
    return f"drill: {text}"
