"""A run's journal folded line by line into what the verdicts and the reports read.

A journal holds two lines per step attempt; at 50,000 steps, holding every line as a record costs
hundreds of megabytes. `fold` reads the records once, in order, and keeps only:
- the records that are not `step.started` / `step.finished` (run-level lines, clock, systems, notes,
  acknowledgements, evidence...: a handful per run, whatever its size);
- each step folded into its `StepRun` (attempts, acknowledgements) and the run's `History`;
- the facts of the whole journal the reports print: how many lines, the last line, the latest `t`,
  the hash chain's check (`check_chain`) and each step log's recorded digest.

Every verdict and report reads a `Folded`, so memory grows with the number of steps (one compact
`StepRun` each), not with the journal's size, and `fold(iter_journal(path))` never holds the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bcdrill.record.events import RUN_STARTED, STEP_FINISHED, STEP_STARTED, Record
from bcdrill.record.journal import GENESIS, iter_journal, record_problem
from bcdrill.verdicts.history import History, HistoryFold
from bcdrill.verdicts.timeline import StepFold, StepRun

FOLDED_EVENTS = frozenset({STEP_STARTED, STEP_FINISHED})
"""The events `Folded.records` leaves out: they are folded into `Folded.runs` (and the history)."""


def run_level_records(path: Path) -> list[Record]:
    """The journal's run-level lines (how the run ended, T0, recoveries, notes...), read as a stream:
    neither its step lines nor run.started, whose snapshot (a dict per step) is not parsed."""
    return list(iter_journal(path, skip={*FOLDED_EVENTS, RUN_STARTED}))


@dataclass(frozen=True)
class LogDigest:
    """A step log named in the journal and the SHA-256 recorded for it (the last one recorded)."""

    step: str
    path: str
    sha256: str | None


@dataclass
class Folded:
    """What the verdicts and reports need of a journal, without its step lines."""

    records: list[Record]  # every line but step.started / step.finished, in order
    runs: list[StepRun]
    history: History
    lines: int = 0
    last: Record | None = None  # the journal's last line
    max_t: float = 0.0  # the latest `t` of any line (0 without lines)
    chain_ok: bool = False  # every line's hash, seq and link intact (False without lines)
    bad_line: int | None = None  # the first line that breaks the chain (1-based)
    logs: dict[str, LogDigest] = field(default_factory=dict)  # by log path, in first-named order


def fold(records: Iterable[Record]) -> Folded:
    """Fold the journal's records, in order: one pass, nothing kept of a step line once read."""
    kept: list[Record] = []
    steps, history = StepFold(), HistoryFold()
    logs: dict[str, LogDigest] = {}
    lines, last, max_t = 0, None, None
    prev, bad_line = GENESIS, None
    for ev in records:
        lines += 1
        if bad_line is None:
            if record_problem(lines, ev, prev):
                bad_line = lines
            prev = str(ev["hash"])
        t = float(ev["t"])
        max_t = t if max_t is None or t > max_t else max_t
        steps.add(ev)
        history.add(ev)
        if ev["event"] == STEP_FINISHED:
            log = ev.get("log")
            if log:
                logs[log] = LogDigest(ev["step"], log, ev.get("log_sha256"))
        elif ev["event"] != STEP_STARTED:
            kept.append(ev)
        last = ev
    return Folded(
        records=kept,
        runs=steps.runs(),
        history=history.history(),
        lines=lines,
        last=last,
        max_t=max_t or 0.0,
        chain_ok=lines > 0 and bad_line is None,
        bad_line=bad_line,
        logs=logs,
    )


def folded(events: Iterable[Record] | Folded) -> Folded:
    """`events` folded (a `Folded` as it is): for the functions that take either."""
    return events if isinstance(events, Folded) else fold(events)
