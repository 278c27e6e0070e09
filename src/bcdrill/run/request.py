"""What a caller asks of a run or a resume, in one object, and what it gets back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bcdrill.executors.base import RunOptions
from bcdrill.run.session import Listener


@dataclass(frozen=True)
class RunRequest:
    """Everything `run_scenario` and `resume_run` need besides the scenario or the run directory.

    `listeners` are closed when the run ends. `cli_vars` are the `--var` values (the non-secret ones
    are journaled). The resume-only fields (`rerun`, `mark_done`, `by`, `drop_partial_line`) are the
    operator's decisions about steps in flight when the run stopped.
    """

    options: RunOptions = field(default_factory=RunOptions)
    parallel: int = 8
    listeners: Sequence[Listener] = ()
    argv: Sequence[str] = ()
    cli_vars: Mapping[str, str] = field(default_factory=dict)
    run_dir: Path | None = None
    confirm_production: str | None = None
    rerun: Sequence[str] = ()
    mark_done: Sequence[str] = ()
    by: str | None = None
    drop_partial_line: bool = False


@dataclass(frozen=True)
class RunResult:
    """The exit code (DESIGN.md §4) and the run directory. The reports are made from the journal on
    disk, which listeners may still append to after `run.finished` (a notification that failed)."""

    exit_code: int
    run_dir: Path
