"""`drill note` files: an observation, issue or corrective action given while a drill runs.

- `notes/<id>.json`: a note (`drill note`) made while a runner holds the run directory; the runner
  journals it as a `note` event and moves it to `notes/journaled/`. When no runner holds the
  directory, `add_note` appends it (and any note a killed runner left) directly, under the run lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from bcdrill.common.errors import RunDirError, UsageError
from bcdrill.record import events as ev
from bcdrill.record.events import NOTE, NOTE_KINDS, NotePayload, Record
from bcdrill.run.rundir import journal_records, require_run_dir, write_json_atomic


def _note_record(
    kind: str, text: str, owner: str | None, due: str | None, by: str | None, closes: str | None = None
) -> NotePayload:
    if kind not in NOTE_KINDS:
        raise UsageError(f"note kind must be one of {', '.join(NOTE_KINDS)}, not {kind!r}")
    if not text.strip():
        raise UsageError("a note needs --text")
    note_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    record: NotePayload = {"id": note_id, "kind": kind, "text": text, "owner": owner, "due": due, "by": by}
    if closes:  # closes a corrective action: `A-3`, or `<run id>:A-3` of an earlier drill
        record["closes"] = closes.strip()
    return record


NOTE_SETTLE_POLL = 0.05  # seconds between looks while `drill note` waits for a runner to take its note


def _drop_note(run_dir: Path, record: NotePayload) -> Path:
    """Leave a note file for the runner that holds `run_dir` to journal."""
    path = run_dir / "notes" / f"{record['id']}.json"
    write_json_atomic(path, record)
    return path


def take_notes(run_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Pending note files, oldest first, with their content (malformed files, without a text or a
    known kind, are skipped: `add_note` writes neither)."""
    found = []
    for path in sorted((Path(run_dir) / "notes").glob("*.json"), key=_written_at):
        if path.name.startswith("."):  # a note being written (pathlib's glob matches hidden files)
            continue
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(obj, dict) and obj.get("text") and obj.get("kind") in NOTE_KINDS:
            found.append((path, obj))
    return found


def _written_at(path: Path) -> tuple[int, str]:
    """When a note file was written (its id names the second only; two notes may share it)."""
    try:
        return path.stat().st_mtime_ns, path.name
    except OSError:
        return 0, path.name


def mark_note_journaled(path: Path) -> None:
    done = path.parent / "journaled"
    done.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        os.replace(path, done / path.name)


def _journal_note(run_dir: Path, record: Mapping[str, Any]) -> Record:
    """Append a `note` event (the keys of a note file, in their order) to the journal of a run whose
    lock the caller holds."""
    from bcdrill.common.redact import Redactor
    from bcdrill.record.journal import Journal

    journal = Journal.reopen(run_dir / "journal.jsonl", redactor=Redactor(()))
    try:
        return journal.write(ev.note(**record))
    finally:
        journal.close()


def _journal_pending_notes(run_dir: Path, ours: str | None) -> Record:
    """Journal every pending note, oldest first — ours and any a runner left behind when it was killed
    before it could journal them — and return the line of ours. The caller holds the lock."""
    line: Record | None = None
    for path, note in take_notes(run_dir):
        written = _journal_note(run_dir, {k: note.get(k) for k in _NOTE_KEYS if k in note})
        mark_note_journaled(path)
        line = written if note.get("id") == ours else line
    if line is None:
        raise RunDirError(f"{run_dir / 'notes'}: the note {ours} vanished before it was journaled")
    return line


_NOTE_KEYS = ("id", "kind", "text", "owner", "due", "by", "closes")
_CLOSES = re.compile(r"(?:(?P<run>[^:\s]+):)?A-(?P<n>[1-9][0-9]*)")


def _check_note(run_dir: Path, kind: str, due: str | None, closes: str | None) -> None:
    """A due date is a date; an action closed in this run exists (UsageError: nothing is written)."""
    if due is not None:
        try:
            date.fromisoformat(due)
        except ValueError:
            raise UsageError(f"--due {due!r}: expected a date YYYY-MM-DD, e.g. --due 2027-03-31") from None
    if closes is None:
        return
    match = _CLOSES.fullmatch(closes.strip())
    if match is None:
        raise UsageError(
            f"--closes {closes!r}: expected an action id such as A-3, or RUN_ID:A-3 of an earlier drill"
        )
    if match["run"] is None:
        actions = sum(
            1 for r in journal_records(run_dir) if r.get("event") == NOTE and r.get("kind") == "action"
        )
        if int(match["n"]) > actions:
            raise UsageError(
                f"--closes {closes}: this drill has {actions} corrective action(s) (A-1…A-{actions}) — "
                "use RUN_ID:A-n for an action of an earlier drill"
            )


@dataclass(frozen=True)
class NoteResult:
    """Where `drill note` put the note: in the journal (`journaled`) or in the inbox for the runner."""

    where: str
    journaled: bool


def add_note(
    run_dir: Path,
    *,
    text: str,
    kind: str = "observation",
    owner: str | None = None,
    due: str | None = None,
    by: str | None = None,
    closes: str | None = None,
    settle: float = 5.0,
) -> NoteResult:
    """`drill note`: the note is written to `notes/` first; the runner holding the run journals it, or,
    when no runner holds the run (or the runner ends within `settle` seconds), `drill note` journals it
    itself under the lock. A runner journals pending notes once more after `run.finished`, just before
    it lets the run go, so no note is lost between the two. `closes`: the corrective action this note
    closes (`A-3`, or `<run id>:A-3`)."""
    from bcdrill.run.lock import RunLock

    run_dir = Path(run_dir)
    require_run_dir(run_dir)
    record = _note_record(kind, text, owner, due, by, closes)
    _check_note(run_dir, kind, due, closes)
    path = _drop_note(run_dir, record)  # first on disk: from here on the note cannot be lost
    lock = RunLock(run_dir)
    deadline = time.monotonic() + settle
    while True:
        if not path.exists():
            return NoteResult(
                f"journaled by the running drill ({path.parent / 'journaled' / path.name})", False
            )
        if lock.try_acquire():  # no runner (or it just ended): journal it ourselves, under the lock
            try:
                if not path.exists():
                    continue
                line = _journal_pending_notes(run_dir, record["id"])
                return NoteResult(f"journal line {line['seq'] + 1} of {run_dir / 'journal.jsonl'}", True)
            finally:
                lock.release()
        if time.monotonic() >= deadline:
            return NoteResult(f"{path} (the running drill will journal it)", False)
        time.sleep(NOTE_SETTLE_POLL)
