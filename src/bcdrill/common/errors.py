"""Errors that reach the user. Everything else is a bug.

`ScenarioError` carries every problem found in a scenario file, each as
`FILE:LINE:COL: message`. `UsageError` is a bad command line or a refused
operation (production guard, locked run directory). The CLI maps both to
exit code 2 with a one-line message per problem; no traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file; line and col are 1-based."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class DrillError(Exception):
    """Base of the errors the CLI turns into a message and an exit code."""

    exit_code = 2


class ScenarioError(DrillError):
    """A scenario (or inventory) failed validation; nothing was executed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(DrillError):
    """Bad command-line usage, or an operation refused before anything ran."""


class RunDirError(DrillError):
    """A run directory is missing, locked, or cannot be resumed as asked."""


class JournalWriteError(DrillError):
    """The journal cannot be written (a full disk, an I/O error): the run stops as interrupted (exit
    3); the journal keeps every whole line, so the run can be resumed once the cause is gone."""

    exit_code = 3
