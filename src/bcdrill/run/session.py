"""The state one runner process shares between its steps: journal, listeners, clock, cancel.

The notes watcher also applies the web console's requests (`requests.py`): hold/continue
(`hold`, which the scheduler honours) and evidence files, each journaled.

`Session.emit` appends a record to the journal (durable when it returns) and then
hands it to every listener; a listener that raises is logged to `RUN_DIR/drill.log`
and otherwise ignored. A failing journal append is not caught: the run stops.

`emit(..., defer=True)` writes the line but leaves its `fdatasync` to the next durable line
(or `settle()`), and tells the listeners only once it is on disk: a step's `step.finished`
shares one sync with the `step.started` of the step its worker starts next. Nothing acts on a
deferred line before it is durable: a dependent starts only after its own `step.started` was
synced (which covers every earlier line), a listener hears of it only then, and a worker with
nothing to start next settles before it waits (`drive` gives the scheduler `settle` as `idle`).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bcdrill.common.errors import JournalWriteError
from bcdrill.common.redact import Redactor
from bcdrill.common.timestamps import utc_ts
from bcdrill.executors.base import Resources, RunOptions
from bcdrill.record import events as ev
from bcdrill.record.events import Entry, Record
from bcdrill.record.journal import Journal
from bcdrill.run.inbox import RunInbox
from bcdrill.run.notes import mark_note_journaled, take_notes
from bcdrill.run.requests import LIVE_ACTIONS, mark_request_done, pending_requests
from bcdrill.scenario.model import Scenario

NOTE_POLL = 0.2  # seconds between looks for `drill note` files and console requests


class Listener(Protocol):
    """Gets every record once it is durable. A listener may also have `close()` (called when the
    run ends) and `attach(scn, run_dir, emit)`: called before the session writes anything, with the
    scenario, the run directory and `Session.emit_aside`, the path by which a listener journals
    events about itself (e.g. `notify.failed`) — the runner alone writes the journal."""

    def on_event(self, record: Record) -> None: ...


@dataclass
class Clock:
    """T0 and what has been measured against it (guarded by `lock`)."""

    t0: float | None = None
    t0_ts: str | None = None
    recovered: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Session:
    def __init__(
        self,
        scn: Scenario,
        run_dir: Path,
        journal: Journal,
        *,
        options: RunOptions,
        listeners: Sequence[Listener],
        redactor: Redactor,
    ) -> None:
        self.scn = scn
        self.run_dir = run_dir
        self.journal = journal
        self.options = options
        self.listeners = list(listeners)
        self.redactor = redactor
        self.cancel = threading.Event()  # set only when the run is interrupted (SIGINT/SIGTERM)
        self.interrupt_reason = ""
        self.aborting = threading.Event()  # an `abort` failure: no new attempts, no retries
        self.hold = threading.Event()  # a commander held the drill (console): no new step starts
        self.resources = Resources()
        self.inbox = RunInbox(run_dir, before_evidence=self.journal_requests)
        self._requests_lock = threading.Lock()  # one taker at a time: a request is journaled once
        self.clock = Clock()
        self.attempts: dict[str, int] = {}  # last attempt number per step (continues on resume)
        self.in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._notes_stop = threading.Event()
        self._notes_thread: threading.Thread | None = None
        self._listeners_closed = False
        self._deferred: list[Record] = []  # written, not yet known durable: the listeners wait
        self._deferred_lock = threading.Lock()
        self._attach_listeners()

    # ---- journal and listeners ------------------------------------------------------------------

    def emit(self, entry: Entry, *, defer: bool = False) -> Record:
        """Journal one event (built by a constructor of record/events.py) and tell the listeners.

        `defer`: the line's sync is shared with the next durable line (see the module's text)."""
        try:
            record = self.journal.write(entry, durable=not defer)
        except JournalWriteError:
            self.interrupt("the journal cannot be written")  # nothing more may happen unrecorded
            with contextlib.suppress(JournalWriteError):
                self.settle()  # the whole lines before the failed one: on disk, and told
            raise
        if defer:
            with self._deferred_lock:
                self._deferred.append(record)
            return record
        self._tell_durable()
        self.tell(record)
        return record

    def settle(self) -> None:
        """Make every deferred line durable and tell the listeners of them."""
        with self._deferred_lock:
            if not self._deferred:
                return
        try:
            self.journal.sync()
        except JournalWriteError:
            self.interrupt("the journal cannot be written")
            raise
        self._tell_durable()

    def _tell_durable(self) -> None:
        """Tell the listeners of the deferred lines that are on disk by now (in journal order)."""
        with self._deferred_lock:
            if not self._deferred:
                return
            synced = self.journal.synced_seq
            ready = [r for r in self._deferred if r["seq"] <= synced]
            self._deferred = [r for r in self._deferred if r["seq"] > synced]
        for record in sorted(ready, key=lambda r: r["seq"]):
            self.tell(record)

    def _attach_listeners(self) -> None:
        for listener in self.listeners:
            attach = getattr(listener, "attach", None)
            if callable(attach):
                try:
                    attach(self.scn, self.run_dir, self.emit_aside)
                except Exception:  # a listener can never break the run
                    self.log_error(f"listener {type(listener).__name__} failed to attach")

    def emit_aside(self, entry: Entry) -> Record | None:
        """`emit` for listeners reporting on themselves, from any thread: None once the journal is
        closed (the run has ended; the listener logs elsewhere)."""
        try:
            return self.emit(entry)
        except ValueError:  # the journal is closed
            return None

    def close_listeners(self) -> None:
        """Close the listeners once, while the journal is still open: what they report about
        themselves as they finish (e.g. a notification that could not be sent) is journaled."""
        if not self._listeners_closed:
            with contextlib.suppress(JournalWriteError):
                self.settle()  # no line deferred is left untold
            self._listeners_closed = True
            close_listeners(self.listeners)

    def tell(self, record: Record) -> None:
        """Give the listeners a record (a new one, or on resume the run's run.started again)."""
        for listener in self.listeners:
            try:
                listener.on_event(record)
            except Exception:  # a listener can never break the run
                self.log_error(f"listener {type(listener).__name__} failed on {record['event']}")

    def log_error(self, what: str) -> None:
        """Append `what` and the current traceback (masked) to RUN_DIR/drill.log."""
        text = f"{utc_ts()} {what}\n{traceback.format_exc()}\n"
        try:
            with (self.run_dir / "drill.log").open("a", encoding="utf-8") as fh:
                fh.write(self.redactor.mask(text))
        except OSError:
            pass

    # ---- bookkeeping ------------------------------------------------------------------------------

    def next_attempt(self, step_id: str) -> int:
        with self._lock:
            self.attempts[step_id] = self.attempts.get(step_id, 0) + 1
            self.in_flight.add(step_id)
            return self.attempts[step_id]

    def landed(self, step_id: str) -> None:
        with self._lock:
            self.in_flight.discard(step_id)

    def interrupt(self, reason: str) -> None:
        self.interrupt_reason = self.interrupt_reason or reason
        self.cancel.set()

    @property
    def interrupted(self) -> bool:
        return self.cancel.is_set()

    # ---- `drill note` files -----------------------------------------------------------------------

    def start_notes(self) -> None:
        self._notes_thread = threading.Thread(target=self._watch_notes, name="notes", daemon=True)
        self._notes_thread.start()

    def stop_notes(self) -> None:
        self._notes_stop.set()
        if self._notes_thread is not None:
            self._notes_thread.join()
        self.journal_notes()
        self.journal_requests()  # evidence uploaded just before the last step ended: none is left behind

    def _watch_notes(self) -> None:
        while not self._notes_stop.wait(NOTE_POLL):
            try:
                self.journal_notes()
                self.journal_requests()
            except JournalWriteError:
                return
            except Exception:
                self.log_error("cannot journal a note or a console request")

    def journal_notes(self) -> list[Record]:
        """Journal the pending `drill note` files; the records written."""
        written = []
        for path, n in take_notes(self.run_dir):
            entry = ev.note(
                kind=n["kind"],
                text=n["text"],
                owner=n.get("owner"),
                due=n.get("due"),
                by=n.get("by"),
                id=n.get("id"),
                closes=n.get("closes"),
            )
            written.append(self.emit(entry))
            mark_note_journaled(path)
        return written

    def journal_requests(self) -> list[Record]:
        """Apply and journal the pending console requests the runner handles (hold, continue,
        evidence); `retry` and `mark_done` wait for `drill resume`."""
        written = []
        with self._requests_lock:
            for path, req in pending_requests(self.run_dir, LIVE_ACTIONS):
                written.append(self._apply_request(req))
                mark_request_done(path)
        return written

    def _apply_request(self, req: dict[str, Any]) -> Record:
        if req["action"] == "evidence":
            evidence = ev.evidence_added(
                step=req.get("step"),
                file=req.get("file"),
                name=req.get("name"),
                sha256=req.get("sha256"),
                size=req.get("size"),
                by=req["by"],
                role=req.get("role"),
                client=req.get("client"),
                via=req.get("via"),
                given_ts=req.get("ts"),
            )
            return self.emit(evidence)
        if req["action"] == "hold":
            self.hold.set()
        else:
            self.hold.clear()
        command = ev.commander_action(
            action=req["action"],
            step=None,
            reason=req.get("reason"),
            by=req["by"],
            role=req.get("role"),
            client=req.get("client"),
            via=req.get("via"),
            given_ts=req.get("ts"),
        )
        return self.emit(command)


def close_listeners(listeners: Sequence[Listener]) -> None:
    """Close every listener that can be closed; a failure is a warning, never the run's end."""
    for listener in listeners:
        close = getattr(listener, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:
                sys.stderr.write(f"warning: {type(listener).__name__}.close failed: {exc}\n")
