"""The tamper-evident journal: `RUN_DIR/journal.jsonl` (DESIGN.md §7, docs/journal.md).

One JSON object a line: `seq`, `ts`, `t`, `event`, the payload, `prev` and `hash`, where
`hash` is the SHA-256 of the line's canonical JSON without `hash` (keys sorted, no spaces,
UTF-8, non-ASCII kept) and `prev` is the previous line's `hash` (64 zeros for the first).
Each line is written with one `os.write` to an `O_APPEND` descriptor and made durable with
`fdatasync` before `append` returns. Concurrent appenders share syncs (group commit): one
thread's `fdatasync` covers every line written before it started, so ten steps ending at
once cost about one sync, not ten queued behind one lock. A writer may also defer a line's
sync (`write(..., durable=False)`) to share it with the next line it makes durable: the runner
does so for a step's `step.finished`, whose sync the next `step.started` pays (see run/session.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from bcdrill.common.errors import JournalWriteError, RunDirError
from bcdrill.common.jsonfmt import load_head
from bcdrill.common.redact import Redactor
from bcdrill.common.timestamps import parse_ts, utc_ts
from bcdrill.record.events import RUN_FINISHED, Entry, Record, decode

GENESIS = "0" * 64
ENVELOPE = frozenset({"seq", "ts", "t", "event", "prev", "hash"})
JOURNAL_NAME = "journal.jsonl"
SUMMARY_NAME = "summary.json"
_sync = getattr(os, "fdatasync", os.fsync)
_ENVELOPE_START = re.compile(rb'\{"seq":\d+,"ts":"[^"\\]*","t":[-+.\deE]+,"event":"([a-z._]+)",')


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes: keys sorted, separators `,` `:`, non-ASCII kept, UTF-8."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def line_hash(record: Mapping[str, Any]) -> str:
    """The SHA-256 hex a line must carry as `hash` (computed over the record without `hash`)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def _jsonable(value: Any) -> str:
    """Fallback for values JSON cannot express (paths, datetimes, sets): their text."""
    if isinstance(value, (set, frozenset)):
        return json.dumps(sorted(map(str, value)), ensure_ascii=False)
    return str(value)


class Journal:
    """Appends hash-chained, fsynced, secret-masked lines. Thread-safe."""

    def __init__(self, path: Path, fd: int, redactor: Redactor, *, seq: int, prev: str, t: float) -> None:
        self.path = path
        self._fd: int | None = fd
        self._redactor = redactor
        self._seq = seq
        self._prev = prev
        self._t_base = t
        self._mono_base = time.monotonic()
        self._lock = threading.Lock()
        self._broken: str | None = None  # why the journal can no longer be written
        self._sync_failed = False  # an fdatasync failed: nothing more is known to reach the disk
        self._durable = threading.Condition()
        self._synced = seq - 1  # every line up to this seq is on disk
        self._syncing = False

    @classmethod
    def create(cls, path: Path, *, redactor: Redactor) -> Journal:
        """Start a new journal at `path` (which must not exist); `t` = 0 now."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise RunDirError(f"{path}: a journal already exists here; use `drill resume`") from None
        except OSError as exc:
            raise RunDirError(f"{path}: cannot create the journal: {exc.strerror}") from None
        _sync_dir(path.parent)
        return cls(path, fd, redactor, seq=0, prev=GENESIS, t=0.0)

    @classmethod
    def reopen(cls, path: Path, *, redactor: Redactor) -> Journal:
        """Continue an existing journal (resume): next seq, chained to the last hash.

        `t` continues from the last line's `t` plus the wall-clock time since its `ts`: across
        a crash or a restart the monotonic clock is gone, so only the wall clock can bridge the
        gap (never backwards: a clock that went back adds nothing). The whole chain is checked
        first; a cut-off, garbled or altered journal is refused rather than repaired.
        """
        walk = walk_chain(path)
        result = walk.verification(path)
        if not result.ok and result.lines > 0:
            raise RunDirError(f"{path}: cannot resume: {result.message}")
        seq, prev, t = 0, GENESIS, 0.0
        if walk.last is not None:
            last = walk.last
            gap = (datetime.now(timezone.utc) - parse_ts(last["ts"])).total_seconds()
            seq, prev, t = last["seq"] + 1, last["hash"], float(last["t"]) + max(gap, 0.0)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise RunDirError(f"{path}: cannot open the journal: {exc.strerror}") from None
        return cls(path, fd, redactor, seq=seq, prev=prev, t=t)

    @property
    def head(self) -> str:
        """The hash of the last line written (64 zeros before the first)."""
        return self._prev

    def now_t(self) -> float:
        """Seconds since run start on the monotonic clock, rounded to microseconds."""
        return round(self._t_base + (time.monotonic() - self._mono_base), 6)

    def write(self, entry: Entry, *, durable: bool = True) -> Record:
        """Append one typed event (`events.step_finished(...)` and the like); see `append`.

        `durable=False` writes the line without waiting for its `fdatasync`: the next durable
        line's sync (or `sync()`) covers it. The caller must not act on the line, nor let anyone
        else act on it, before then."""
        return self._append(entry.event, entry.payload, durable)

    def append(self, event: str, /, **payload: Any) -> Record:
        """Mask, chain, write and fsync one line; return the record exactly as read back later.

        A payload key equal to an envelope key (seq, ts, t, event, prev, hash) is a bug:
        ValueError. A write that fails (a full disk) is cut back off the file, so the journal keeps
        only whole lines, and raises JournalWriteError; so does every later append.
        """
        return self._append(event, payload, True)

    @property
    def synced_seq(self) -> int:
        """The `seq` of the last line known to be on disk (-1 before the first)."""
        with self._durable:
            return self._synced

    def sync(self) -> None:
        """Make every line written so far durable (one `fdatasync`, or none when they are). Also after
        a write failed (a full disk): the whole lines before it are still made durable."""
        with self._lock:
            if self._fd is None or self._sync_failed:
                return
            fd, last = self._fd, self._seq - 1
        try:
            self._wait_durable(fd, last)
        except OSError as exc:
            self._sync_failed = True
            raise self._break(exc) from None

    def _append(self, event: str, payload: Mapping[str, Any], durable: bool) -> Record:
        clash = ENVELOPE.intersection(payload)
        if clash:
            raise ValueError(f"payload keys {sorted(clash)} collide with the journal envelope")
        masked = {key: self._redactor.mask_obj(value) for key, value in payload.items()}  # keys: the schema
        with self._lock:
            if self._fd is None:
                raise ValueError(f"{self.path}: the journal is closed")
            if self._broken is not None:
                raise JournalWriteError(self._broken)
            body = {"seq": self._seq, "ts": utc_ts(), "t": self.now_t(), "event": event, **masked}
            body["prev"] = self._prev
            record, data = _encode(body)
            self._write_line(data)
            self._seq += 1
            self._prev = record["hash"]
            fd = self._fd
        if durable:
            try:
                self._wait_durable(fd, record["seq"])
            except OSError as exc:
                self._sync_failed = True
                raise self._break(exc) from None
        return cast(Record, record)  # the writers are ours; `read_journal` checks what it reads

    def _write_line(self, data: bytes) -> None:
        """Write one whole line or nothing (called under the lock)."""
        assert self._fd is not None
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, end)  # the part written: gone, the last whole line stays last
            raise self._break(exc) from None

    def _break(self, exc: OSError) -> JournalWriteError:
        self._broken = (
            f"{self.path}: cannot write the journal ({exc.strerror or exc}) — the run stops here; every "
            f"whole line is kept: free the space (or fix the disk), then `drill resume {self.path.parent}`"
        )
        return JournalWriteError(self._broken)

    def _wait_durable(self, fd: int, seq: int) -> None:
        """Return once line `seq` is synced: by this thread or by a sync started after it was written."""
        with self._durable:
            while self._synced < seq:
                if self._syncing:
                    self._durable.wait()
                    continue
                self._syncing, written = True, self._seq - 1
                try:
                    self._durable.release()
                    try:
                        _sync(fd)
                    finally:
                        self._durable.acquire()
                    self._synced = max(self._synced, written)
                finally:
                    self._syncing = False
                    self._durable.notify_all()

    def close(self) -> None:
        """Close the file, after making any line written without its sync durable."""
        with contextlib.suppress(JournalWriteError):
            self.sync()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _encode(body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Hash `body` and produce the line's bytes (envelope first, `hash` last, for people reading
    the file). The record returned equals, as JSON, what a reader gets; values JSON cannot
    express (paths, sets, ...) are turned into text in both."""
    converted = False

    def default(value: Any) -> str:
        nonlocal converted
        converted = True
        return _jsonable(value)

    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)
    canon = text.encode("utf-8", errors="replace")  # lone surrogates from odd output become "?"
    del text  # a run.started line of 50,000 steps is 16 MB: hold as few copies at once as can be
    norm: dict[str, Any] = json.loads(canon) if converted else body
    digest = hashlib.sha256(canon).hexdigest()
    del canon
    ordered = {k: norm[k] for k in ("seq", "ts", "t", "event")}
    ordered.update((k, v) for k, v in norm.items() if k not in ENVELOPE)
    ordered["prev"] = norm["prev"]
    ordered["hash"] = digest
    line = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8", errors="replace")
    return ordered, line + b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_dir(directory: Path) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _iter_lines(path: Path) -> Iterator[bytes]:
    """The file's lines one at a time, each with its trailing newline (the last may lack one)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, also when the reader stops early
    except FileNotFoundError:
        raise RunDirError(f"{path}: no journal here") from None
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read the journal: {exc.strerror}") from None
    with handle:
        try:
            yield from handle
        except OSError as exc:
            raise RunDirError(f"{path}: cannot read the journal: {exc.strerror}") from None


class DuplicateKeyError(ValueError):
    """A JSON object names a key twice: readers could see either value, so the line is refused."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(f"the key {key!r} appears twice in one object (the line was edited)")
            seen.add(key)
    return obj


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(raw, object_pairs_hook=_unique_keys)
    except DuplicateKeyError:
        raise
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


PARTIAL_NAME = "journal.partial"


def set_aside_partial_tail(path: Path) -> dict[str, Any] | None:
    """Move a last line that has no newline (cut off by a power loss or a full disk: its append
    never returned, so the runner never acted on it) to `journal.partial`, keeping its bytes for
    the auditor; None when the journal ends with a newline. The caller journals what it did."""
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return None
    keep = data.rfind(b"\n") + 1
    tail = data[keep:]
    with open(path.parent / PARTIAL_NAME, "ab") as fh:
        fh.write(tail + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.truncate(path, keep)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return {
        "line": data[:keep].count(b"\n") + 1,
        "bytes": len(tail),
        "sha256": hashlib.sha256(tail).hexdigest(),
        "kept_in": PARTIAL_NAME,
    }


def read_journal(path: Path) -> list[Record]:
    """Every record of the journal, in order (`iter_journal` without the streaming)."""
    return list(iter_journal(path))


def iter_journal(path: Path, skip: Collection[str] = ()) -> Iterator[Record]:
    """The records of the journal one at a time, in order, read line by line (a run's journal
    need not fit in memory at once). RunDirError names an unreadable or garbled line.

    `skip`: events left out; a line written as this journal writes (envelope first) that names one
    of them is not even parsed (the run.started line of a 50,000-step run is 16 MB of snapshot), nor
    checked. This checks the form of each line read, not the hash chain: `verify_journal` does that.
    """
    for number, raw in enumerate(_iter_lines(path), start=1):
        if skip and raw.endswith(b"\n"):
            envelope = _ENVELOPE_START.match(raw)
            if envelope and envelope.group(1).decode() in skip:
                continue
        try:
            record = _parse(raw)
        except DuplicateKeyError as exc:
            raise RunDirError(
                f"{path}: line {number}: {exc}; check it with `drill verify {path.parent}`"
            ) from None
        if not raw.endswith(b"\n"):
            raise RunDirError(
                f"{path}: line {number}, the last, is cut off (no newline: a crash or power loss during "
                f"the write) — `drill resume {path.parent} --drop-partial-line` sets it aside in "
                f"{PARTIAL_NAME} and records that it did; `drill verify {path.parent}` shows the rest"
            )
        if record is None or not record.keys() >= ENVELOPE:
            raise RunDirError(
                f"{path}: line {number} is cut off or garbled; the journal cannot be read "
                f"(check it with `drill verify {path.parent}`)"
            )
        try:
            decoded = decode(record)
        except ValueError as exc:
            raise RunDirError(f"{path}: line {number}: {exc}; the journal cannot be read") from None
        if decoded["event"] not in skip:
            yield decoded


@dataclass(frozen=True)
class Verification:
    """The result of `verify_journal`; `bad_line` is 1-based, `head` the last line's hash."""

    ok: bool
    lines: int
    head: str | None
    bad_line: int | None
    message: str


def _check_line(number: int, raw: bytes, prev: str) -> tuple[dict[str, Any] | None, str | None]:
    """The record on line `number` and why it is bad (None when it is good)."""
    try:
        record = _parse(raw)
    except DuplicateKeyError as exc:
        return None, str(exc)
    if record is None:
        return None, "not a JSON object (cut off or edited)"
    if not raw.endswith(b"\n"):
        return None, "no newline at the end (the line was cut off)"
    reason = record_problem(number, record, prev)
    return (None, reason) if reason else (record, None)


def record_problem(number: int, record: Mapping[str, Any], prev: str) -> str | None:
    """Why the record on line `number`, after a line whose hash is `prev`, breaks the chain (None:
    it does not). The one check of the hash chain, for `drill verify` and the report alike."""
    missing = sorted(ENVELOPE - record.keys())
    if missing:
        return f"missing {', '.join(missing)}"
    claimed = record["hash"]
    try:
        intact = line_hash(record) == claimed
    except ValueError:  # NaN/Infinity: never written by the journal
        intact = False
    if not intact:
        return "its hash does not match its content (the line was edited)"
    if record["seq"] != number - 1:
        return f"seq is {record['seq']}, expected {number - 1} (a line was removed, added or moved)"
    if record["prev"] != prev:
        return "prev does not match the previous line's hash (a line was removed or moved)"
    return None


def check_chain(records: Sequence[Mapping[str, Any]]) -> tuple[bool, int | None]:
    """(intact, first bad 1-based line) of records already read: the same check as `drill verify`."""
    prev = GENESIS
    for number, record in enumerate(records, start=1):
        if record_problem(number, record, prev):
            return False, number
        prev = str(record["hash"])
    return bool(records), None


@dataclass
class ChainWalk:
    """What one pass over the journal's lines found; all but `lines` are of the lines before the
    first bad one (the good ones)."""

    lines: int = 0  # every line of the file
    good: int = 0
    head: str | None = None  # the last good line's hash
    last: dict[str, Any] | None = None  # the last good record
    finished: bool = False  # a run.finished line among the good ones
    found: set[str] = field(default_factory=set)  # the hashes looked for that are there
    hash_at: str | None = None  # the hash of the line looked for by number
    bad: tuple[int, str] | None = None  # the first bad line and why

    def verification(self, path: Path) -> Verification:
        """The chain's verdict: every hash, seq and link (not yet the head or summary.json's claims)."""
        if self.bad is not None:
            number, reason = self.bad
            return Verification(False, self.lines, None, number, f"line {number}: {reason}")
        if not self.lines:
            return Verification(False, 0, None, None, f"{path}: the journal is empty")
        note = "" if self.finished else " (the run has not finished)"
        return Verification(True, self.lines, self.head, None, f"{self.lines} lines verified{note}")


def walk_chain(
    path: Path,
    visit: Callable[[dict[str, Any]], None] | None = None,
    *,
    wanted: Collection[str] = (),
    at: int | None = None,
) -> ChainWalk:
    """Check every line's hash, seq and link, reading the file line by line (nothing is kept of a
    line once checked); `visit` sees each good record, `wanted` hashes and the hash of line `at` are
    noted. Lines after the first bad one are only counted."""
    walk, prev = ChainWalk(), GENESIS
    for number, raw in enumerate(_iter_lines(path), start=1):
        walk.lines = number
        if walk.bad is not None:
            continue
        record, reason = _check_line(number, raw, prev)
        if record is None:
            walk.bad = (number, reason or "")
            continue
        prev = walk.head = record["hash"]
        walk.good, walk.last = number, record
        walk.finished = walk.finished or record["event"] == RUN_FINISHED
        if prev in wanted:
            walk.found.add(prev)
        if number == at:
            walk.hash_at = prev
        if visit is not None:
            visit(record)
    return walk


def _summary_claims(path: Path) -> tuple[str | None, bool, str | None, tuple[int, str] | None]:
    """(journal_head, finished, error, (journal_lines, journal_tail)) from summary.json beside the
    journal, if there is one."""
    summary_path = path.parent / SUMMARY_NAME
    if not summary_path.exists():
        return None, False, None, None
    try:
        summary = load_head(summary_path, "timeline")  # not the timeline of every step
        head, lines, tail = (
            summary.get("journal_head"),
            summary.get("journal_lines"),
            summary.get("journal_tail"),
        )
        last = (lines, tail) if isinstance(lines, int) and isinstance(tail, str) else None
        return (head if isinstance(head, str) else None), bool(summary.get("finished")), None, last
    except (OSError, ValueError, AttributeError):
        return None, False, f"{summary_path} is unreadable", None


def verify_journal(path: Path, head: str | None = None) -> Verification:
    """Prove the journal unaltered: every hash and link, seq continuity, and the head.

    `path` is the journal file or its run directory. `head` is summary.json's `journal_head`;
    when not given, summary.json beside the journal is read if it exists. A head that is not
    in the journal, or a summary that says the run finished while the journal has no
    `run.finished` line, means lines were cut off the end.
    """
    return verify_and_visit(path, head)[0]


def verify_and_visit(
    path: Path,
    head: str | None = None,
    visit: Callable[[dict[str, Any]], None] | None = None,
    wanted: Collection[str] = (),
) -> tuple[Verification, ChainWalk]:
    """`verify_journal` in one streaming read, `visit` seeing each good record, `wanted` hashes noted
    in the walk's `found`."""
    path = path / JOURNAL_NAME if path.is_dir() else path
    claims_finished, last, error = False, None, None
    if head is None:
        head, claims_finished, error, last = _summary_claims(path)
    look_for = {*wanted, *([head] if head else [])}
    walk = walk_chain(path, visit, wanted=look_for, at=last[0] if last else None)
    result = walk.verification(path)
    if not result.ok:
        return result, walk
    if error:
        return Verification(False, result.lines, result.head, None, error), walk
    if last is not None and (walk.good < last[0] or walk.hash_at != last[1]):
        n = result.lines
        text = (
            f"line {min(n, last[0]) + 1}: summary.json was written when the journal had {last[0]} lines "
            f"ending with {last[1][:12]}…; that line is gone (lines were removed from the end, e.g. notes)"
        )
        return Verification(False, n, result.head, min(n, last[0]) + 1, text), walk
    return _check_head(walk, result, head, claims_finished), walk


def _check_head(walk: ChainWalk, result: Verification, head: str | None, claims: bool) -> Verification:
    n = result.lines
    missing = f"line {n + 1}: missing — the journal ends after line {n}"
    if head is not None:
        if head not in walk.found:
            text = f"{missing}, but its head {head[:12]}… is not in it (lines were cut off or replaced)"
            return Verification(False, n, result.head, n + 1, text)
    elif claims and not walk.finished:
        text = f"{missing} without run.finished, but summary.json says the run finished (cut off)"
        return Verification(False, n, result.head, n + 1, text)
    return result
