"""The console's live core: the journal tail, the folded state and the event-stream subscribers.

One asyncio task (`follow`) looks at the journal every `POLL` seconds (a `stat`; the bytes
appended are read only when it grew), or at once when the runner's listener calls `wake`, but
sends at most one update every `GAP` seconds (a burst of lines is one update).
New records are folded into the state and one update is sent to every subscriber: the
header (run, systems, deviations) and the steps that changed. While the run goes on, the
header is also sent every `TICK` seconds, so that countdowns and projections move.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from bcdrill.listeners.console.state import DrillState
from bcdrill.listeners.console.tail import JournalTail
from bcdrill.listeners.console.views import header_json, state_json, step_json, team_members

POLL = 0.1  # seconds between looks at the journal
GAP = 0.25  # seconds at least between two updates: a burst of lines is one update (the runner's
# listener wakes the loop on every line; each update costs O(steps) for the header)
TICK = 2.0  # seconds between header updates while nothing is written
QUEUE = 256  # updates a slow subscriber may fall behind before it is dropped (it reconnects)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Hub:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.state = DrillState()
        self.tail = JournalTail(self.run_dir / "journal.jsonl")
        self.subscribers: set[asyncio.Queue[str | None]] = set()
        self._lock = threading.Lock()  # guards state: the page's handlers and `follow` share it
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.catch_up()
        self.state.take_changed()  # a page gets what is there now in its first, whole state
        self._sent_seq = self.state.seq

    # ---- reading the journal ----------------------------------------------------------------------

    def catch_up(self) -> int:
        """Fold every record appended since the last look; how many there were."""
        count = 0
        with self._lock:
            while True:
                records = self.tail.read_new()
                for rec in records:
                    self.state.apply(rec)
                count += len(records)
                if not records or not self.tail.behind:
                    return count

    def full(self) -> dict[str, Any]:
        with self._lock:
            return state_json(self.state, self.state.now_t())

    def update(self) -> dict[str, Any]:
        """The header and the steps changed since the last update."""
        with self._lock:
            now_t = self.state.now_t()
            body = header_json(self.state, now_t)
            members = team_members(self.state)
            body["first_ts"] = (
                self.state.unsent_ts
            )  # the oldest journal line this update is the first to carry
            body["steps"] = [step_json(v, members, now_t) for v in self.state.take_changed()]
            self._sent_seq = self.state.seq
            body["sent_at"] = time.time()
            return body

    def read(self, fn: Any) -> Any:
        """Call `fn(state)` under the state lock (for the request handlers)."""
        with self._lock:
            return fn(self.state)

    # ---- the live loop ----------------------------------------------------------------------------

    @property
    def _unsent(self) -> bool:
        """Lines were folded (by this loop, or by a request handler that caught up) but not sent."""
        return self.state.seq != self._sent_seq

    def wake(self) -> None:
        """Look at the journal now (thread-safe: the runner calls it after each record)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(event.set)

    async def follow(self, stop: asyncio.Event) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        last_sent = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL)
            self._wake.clear()
            pause = GAP - (time.monotonic() - last_sent)
            if pause > 0 and self.subscribers:
                await asyncio.sleep(pause)
            await asyncio.to_thread(self.catch_up)
            due = self.state.running and time.monotonic() - last_sent >= TICK
            if (self._unsent or due) and self.subscribers:
                self.broadcast("update", await asyncio.to_thread(self.update))
                last_sent = time.monotonic()
            elif self._unsent:
                with self._lock:
                    self.state.take_changed()
                    self._sent_seq = self.state.seq
        await asyncio.to_thread(self.catch_up)
        if self._unsent:  # the run's last lines, before the streams end
            self.broadcast("update", await asyncio.to_thread(self.update))
        for queue in list(self.subscribers):
            self._offer(queue, None)

    def broadcast(self, event: str, body: dict[str, Any]) -> None:
        message = f"event: {event}\ndata: {dumps(body)}\n\n"
        for queue in list(self.subscribers):
            self._offer(queue, message)

    def _offer(self, queue: asyncio.Queue[str | None], message: str | None) -> None:
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull:  # too slow: drop it; the page reconnects and gets the full state
            self.subscribers.discard(queue)
            with contextlib.suppress(asyncio.QueueFull):
                queue.get_nowait()
                queue.put_nowait(None)

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self.subscribers.discard(queue)
