"""Files other terminals drop into a running drill's directory.

- `acks/<step>.json`: a person's pass/fail for a manual step (`drill ack`). The runner
  alone writes the journal; the manual executor picks the file up, journals
  `manual.acknowledged` and moves the file to `acks/used/`.
- `notes/<id>.json`: a note (`drill note`) made while a runner holds the run directory;
  the runner journals it as a `note` event and moves it to `notes/journaled/`. When no
  runner holds the directory, `add_note` appends it (and any note a killed runner left) directly.

Of two `drill ack` of the same attempt exactly one file is created (hard link, never overwritten);
the other is told who won, also when the runner took the winner in between (`_beaten`).

Every file is written atomically (a temp file in the same directory, then rename), so a
reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

from bcdrill.common.errors import RunDirError, UsageError
from bcdrill.common.timestamps import utc_ts
from bcdrill.record import events as ev
from bcdrill.record.events import (
    NOTE,
    NOTE_KINDS,
    RUN_STARTED,
    STEP_FINISHED,
    STEP_STARTED,
    NotePayload,
    Record,
)
from bcdrill.scenario.validator import did_you_mean

AckResult = Literal["pass", "fail", "not_tested", "skip"]
ACK_RESULTS: tuple[AckResult, ...] = ("pass", "fail", "not_tested", "skip")


@dataclass(frozen=True)
class Ack:
    step: str
    by: str
    result: AckResult
    note: str | None
    ts: str
    via: str = "ack-file"  # ack-file (`drill ack`) or console
    role: str | None = None
    client: str | None = None  # the console client's address
    evidence: tuple[str, ...] = ()  # SHA-256 of evidence files uploaded with it


def _write_atomic(path: Path, obj: Mapping[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _require_run_dir(run_dir: Path) -> None:
    if not (run_dir / "journal.jsonl").is_file():
        raise RunDirError(f"{run_dir} is not a drill run directory (no journal.jsonl)")


def ack_path(run_dir: Path, step: str) -> Path:
    return Path(run_dir) / "acks" / f"{step}.json"


def write_ack(
    run_dir: Path,
    step: str,
    *,
    by: str,
    result: AckResult = "pass",
    note: str | None = None,
    origin: Mapping[str, Any] | None = None,
) -> Path:
    """Drop the acknowledgement of manual step `step` for the runner to pick up. `origin`: what the
    console adds (via, role, client, evidence digests); `result` "skip" is a commander's skip."""
    run_dir = Path(run_dir)
    _require_run_dir(run_dir)
    if result not in ACK_RESULTS:
        raise UsageError(f"an acknowledgement is pass, fail or not_tested, not {result!r}")
    if not by.strip():
        raise UsageError("--by NAME is required: the person who verified the step")
    if "/" in step or step.startswith("."):
        raise UsageError(f"{step!r} is not a step id")
    attempt, since = _check_ackable(run_dir, step)
    _drop_stale(run_dir, step, since)
    taken = _taken_by(run_dir, step, attempt, since)
    if taken:
        raise UsageError(
            f"step {step!r} (attempt {attempt}) was already acknowledged {taken} — yours was not recorded"
        )
    path = ack_path(run_dir, step)
    record = {"step": step, "attempt": attempt, "by": by, "result": result, "note": note, "ts": utc_ts()}
    record.update({k: v for k, v in (origin or {}).items() if k in _ORIGIN_KEYS})
    ours = record["id"] = uuid.uuid4().hex
    if not _create_exclusive(path, record) or _beaten(run_dir, step, attempt, since, ours):
        raise UsageError(
            f"step {step!r} was acknowledged {_taken_by(run_dir, step, attempt, since) or 'by someone else'} "
            "at the same moment — yours was not recorded"
        )
    return path


_ORIGIN_KEYS = ("via", "role", "client", "evidence")


def _beaten(run_dir: Path, step: str, attempt: int, since: str, ours: str) -> bool:
    """Whether the runner took another acknowledgement of this attempt between our check and our create
    (the path was free again because the winner had been moved to `acks/used/`); ours is withdrawn."""
    used = Path(run_dir) / "acks" / "used" / f"{step}.{attempt}.json"
    try:
        obj = json.loads(used.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(obj, dict) or str(obj.get("ts", "")) < since or obj.get("id") == ours:
        return False
    with contextlib.suppress(OSError, ValueError):
        path = ack_path(run_dir, step)
        if json.loads(path.read_text(encoding="utf-8")).get("id") == ours:
            path.unlink()
    return True


def _create_exclusive(path: Path, obj: dict[str, Any]) -> bool:
    """Write `obj` to `path` unless the file exists (atomic: of two writers exactly one wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if the file exists, unlike rename
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _taken_by(run_dir: Path, step: str, attempt: int, since: str) -> str | None:
    """'by NAME (pass) at TS' when an acknowledgement of this attempt, given after it started, is
    pending or was taken by the runner (an older one is ignored by the runner, so it does not count)."""
    for path in (ack_path(run_dir, step), Path(run_dir) / "acks" / "used" / f"{step}.{attempt}.json"):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            obj = json.loads(path.read_text(encoding="utf-8"))
            if str(obj.get("ts", "")) >= since:
                return f"by {obj.get('by')} ({obj.get('result')}) at {obj.get('ts')}"
    return None


def _drop_stale(run_dir: Path, step: str, since: str) -> None:
    """A pending ack given before the waiting attempt started is ignored by the runner: remove it so a
    valid one can take its place."""
    path = ack_path(run_dir, step)
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if str(json.loads(path.read_text(encoding="utf-8")).get("ts", "")) < since:
            path.unlink()


def _journal_records(run_dir: Path) -> list[dict[str, Any]]:
    """The readable records of the journal (a line cut off by a crash is skipped)."""
    records = []
    with open(run_dir / "journal.jsonl", "rb") as fh:
        for raw in fh:
            with contextlib.suppress(ValueError):
                obj = json.loads(raw)
                if isinstance(obj, dict):
                    records.append(obj)
    return records


def _check_ackable(run_dir: Path, step: str) -> tuple[int, str]:
    """The attempt of manual step `step` that waits now and when it started (UsageError if none waits)."""
    records = _journal_records(run_dir)
    snapshot = records[0].get("snapshot") if records and records[0].get("event") == RUN_STARTED else None
    if not isinstance(snapshot, dict):
        return _current_attempt(records, step), ""  # no scenario snapshot to check against
    kinds = {
        str(s.get("id")): s.get("kind")
        for s in [*(snapshot.get("steps") or []), *(snapshot.get("rollback") or [])]
        if isinstance(s, dict)
    }
    if step not in kinds:
        manual = [sid for sid, kind in kinds.items() if kind == "manual"]
        hint = did_you_mean(step, manual) or (
            f" — its manual steps are: {', '.join(manual)}" if manual else " — it has no manual steps"
        )
        raise UsageError(f"the drill in {run_dir} has no step {step!r}{hint}")
    if kinds[step] != "manual":
        kind = kinds[step]
        raise UsageError(
            f"step {step!r} is a {kind} step, not a manual one — only manual steps are acknowledged"
        )
    waiting, attempt, finished, since = False, 0, None, ""
    for rec in records:  # the last word counts: a resumed run may start a finished step again
        if rec.get("step") != step:
            continue
        if rec.get("event") == STEP_STARTED:
            waiting, attempt, finished = True, int(rec.get("attempt") or attempt + 1), None
            since = str(rec.get("ts") or "")
        elif rec.get("event") == STEP_FINISHED:
            waiting = False
            finished = rec.get("status") if rec.get("final") else None
    if waiting:
        return attempt, since
    if finished is not None:
        raise UsageError(f"step {step!r} already finished ({finished}) — there is nothing to acknowledge")
    raise UsageError(
        f"step {step!r} has not started yet — acknowledge it when the drill reaches it: a confirmation "
        "given in advance is not evidence that the business function works at the DR site"
    )


def _current_attempt(records: list[dict[str, Any]], step: str) -> int:
    started = [
        int(r.get("attempt") or 1)
        for r in records
        if r.get("event") == STEP_STARTED and r.get("step") == step
    ]
    return started[-1] if started else 1


def read_ack(run_dir: Path, step: str) -> Ack | None:
    """The pending acknowledgement of `step`, or None. A malformed file is ignored (None)."""
    try:
        obj = json.loads(ack_path(run_dir, step).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(obj, dict) or obj.get("result") not in ACK_RESULTS:
        return None
    evidence = obj.get("evidence")
    return Ack(
        step,
        str(obj.get("by") or "unknown"),
        obj["result"],
        obj.get("note"),
        str(obj.get("ts", "")),
        via="console" if obj.get("via") == "console" else "ack-file",
        role=_text_or_none(obj.get("role")),
        client=_text_or_none(obj.get("client")),
        evidence=tuple(str(e) for e in evidence) if isinstance(evidence, list) else (),
    )


def _text_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def consume_ack(run_dir: Path, step: str, attempt: int) -> None:
    """Move a used acknowledgement aside so a later attempt waits for a new one."""
    used = Path(run_dir) / "acks" / "used"
    used.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        os.replace(ack_path(run_dir, step), used / f"{step}.{attempt}.json")


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
    _write_atomic(path, record)
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
            1 for r in _journal_records(run_dir) if r.get("event") == NOTE and r.get("kind") == "action"
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
    _require_run_dir(run_dir)
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


class RunInbox:
    """The run directory's inbox as the executors see it (`executors.base.Inbox`)."""

    def __init__(self, run_dir: Path, before_evidence: Callable[[], object] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.before_evidence = before_evidence  # journals pending evidence files (the run's session)

    def take_ack(self, step: str, attempt: int) -> Ack | None:
        """The pending acknowledgement of `step`, moved aside for `attempt` so it counts once. When it
        names evidence files, their `evidence.added` lines are journaled first."""
        ack = read_ack(self.run_dir, step)
        if ack is not None:
            consume_ack(self.run_dir, step, attempt)
            if ack.evidence and self.before_evidence is not None:
                self.before_evidence()
        return ack
