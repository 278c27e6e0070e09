"""Acknowledgements other terminals drop into a running drill's directory (notes: `notes.py`).

- `acks/<step>.json`: a person's pass/fail for a manual step (`drill ack`, the web console). The
  runner alone writes the journal; the manual executor picks the file up, journals
  `manual.acknowledged` and moves the file to `acks/used/`.

Of two `drill ack` of the same attempt exactly one file is created (hard link, never overwritten);
the other is told who won, also when the runner took the winner in between (`_beaten`).

Every file is written atomically (a temp file in the same directory, then rename), so a
reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bcdrill.common.errors import UsageError
from bcdrill.common.timestamps import utc_ts
from bcdrill.record.events import (
    RUN_STARTED,
    STEP_FINISHED,
    STEP_STARTED,
)
from bcdrill.run.rundir import journal_records, require_run_dir, synced_temp
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
    require_run_dir(run_dir)
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
    tmp = synced_temp(path.parent, json.dumps(obj, ensure_ascii=False).encode("utf-8"), ".json")
    try:
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


def _check_ackable(run_dir: Path, step: str) -> tuple[int, str]:
    """The attempt of manual step `step` that waits now and when it started (UsageError if none waits)."""
    records = journal_records(run_dir)
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
