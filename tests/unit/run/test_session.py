"""Session: what listeners are told of the lines whose sync is deferred, also when the disk is full."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from bcdrill.common.errors import JournalWriteError
from bcdrill.common.redact import Redactor
from bcdrill.executors.base import RunOptions
from bcdrill.record import events as ev
from bcdrill.record import journal as journal_module
from bcdrill.record.events import Record
from bcdrill.record.journal import Journal
from bcdrill.run.session import Session
from bcdrill.scenario.model import Scenario

FINISHED: dict[str, Any] = dict(
    step="x", attempt=1, status="ok", duration=0.1, exit_code=0, detail="exit code 0", log=None,
    log_sha256=None, started_t=0.0, final=True, rollback=False,
)  # fmt: skip


class Told:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.lines: list[tuple[int, str, int]] = []  # seq, event, synced seq when told

    def on_event(self, record: Record) -> None:
        self.lines.append((record["seq"], record["event"], self.journal.synced_seq))


def session(tmp_path: Path) -> tuple[Session, Told]:
    journal = Journal.create(tmp_path / "journal.jsonl", redactor=Redactor([]))
    told = Told(journal)
    scn = Scenario(
        path=str(tmp_path / "s.yaml"), sha256="0" * 64, version=1, name="s", title="s", environment="lab"
    )
    return Session(
        scn, tmp_path, journal, options=RunOptions(), listeners=[told], redactor=Redactor([])
    ), told


def started(step: str) -> Any:
    return ev.step_started(step=step, attempt=1, kind="run", action={}, rollback=False)


def test_a_deferred_line_is_told_once_synced_with_the_next_line_or_on_settle(tmp_path: Path) -> None:
    s, told = session(tmp_path)
    s.emit(started("x"))
    s.emit(ev.step_finished(**FINISHED), defer=True)
    assert [seq for seq, _, _ in told.lines] == [0]  # not yet: not on disk
    s.emit(started("y"))  # its sync covers both
    assert told.lines == [(0, "step.started", 0), (1, "step.finished", 2), (2, "step.started", 2)]
    s.emit(ev.step_finished(**{**FINISHED, "step": "y"}), defer=True)
    s.settle()
    assert told.lines[-1] == (3, "step.finished", 3)
    s.close_listeners()
    s.journal.close()


def test_a_full_disk_still_syncs_and_tells_the_step_end_written_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, told = session(tmp_path)
    s.emit(started("x"))
    s.emit(ev.step_finished(**FINISHED), defer=True)

    def disk_full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module, "_write_all", disk_full)
    with pytest.raises(JournalWriteError):
        s.emit(started("y"))
    assert s.interrupted
    assert told.lines == [(0, "step.started", 0), (1, "step.finished", 1)]  # on disk, and told
    s.close_listeners()
    s.journal.close()
