"""Chat notifications of a drill (the scenario's `notify:` section, docs/notify.md).

`NotifyListener` gets every journal record (`on_event` only puts it in a bounded queue: it never
waits). A router thread folds the records into messages (`tracker.py`: started/ended, a step
waiting for its team, a failed step, predicted and actual RTO breaches), routes each to its
channels, and one thread per channel (`sender.py`) posts them within the robot's limits
(`outbox.py`: token bucket + sliding minute; what cannot go at once is merged into a digest).
Each platform is one module (`wecom`, `dingtalk`, `feishu`, `webhook`) behind `base.Platform`,
listed in `registry.PLATFORMS`.

A failed request is journaled as `notify.failed` through the run's own emit path (the session
hands `attach` its `emit_aside`), logged, and otherwise ignored: a notifier never slows or
breaks the run. After the journal is closed, failures go to `RUN_DIR/drill.log`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bcdrill.common.redact import Redactor
from bcdrill.common.timestamps import utc_ts
from bcdrill.listeners.notify.base import Batch
from bcdrill.listeners.notify.messages import Message
from bcdrill.listeners.notify.registry import PLATFORMS
from bcdrill.listeners.notify.sender import ChannelSender, Failure
from bcdrill.listeners.notify.tracker import Tracker
from bcdrill.record.events import NOTIFY_FAILED, RUN_STARTED, Record, notify_failed
from bcdrill.scenario.model import Notify, NotifyChannel, Scenario

log = logging.getLogger(__name__)

QUEUE_SIZE = 10000
FLUSH = 5.0  # seconds the notifier may hold the end of the run to send what still waits
TICK = 1.0  # seconds between looks at the RTO clocks
_STOP: Any = object()

Emit = Callable[..., Any]


def route(message: Message, channels: Sequence[NotifyChannel]) -> list[NotifyChannel]:
    """The channels a message goes to (docs/notify.md, "Which message goes where")."""
    subscribed = [c for c in channels if message.kind in c.events]
    if message.team is None or message.kind not in ("waiting", "failed"):
        return subscribed
    teams = [c for c in subscribed if message.team in c.teams]
    general = [c for c in subscribed if not c.teams]
    if message.kind == "waiting":
        return teams or general
    return teams + general


class NotifyListener:
    """Sends the notifications of the scenario's `notify:` section; inert without one."""

    def __init__(
        self,
        *,
        resumed: bool = False,
        window: float = 60.0,
        flush_timeout: float = FLUSH,
        queue_size: int = QUEUE_SIZE,
        console_url: str | None = None,
    ) -> None:
        self.resumed = resumed
        self.console_url = console_url  # of the console this run serves; the scenario's comes first
        self.window = window
        self.flush_timeout = flush_timeout
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.senders: dict[str, ChannelSender] = {}
        self.notify: Notify | None = None
        self.tracker: Tracker | None = None
        self.emit: Emit | None = None
        self.redactor = Redactor(())
        self.run_dir: Path | None = None
        self.dropped = 0  # records the full queue refused
        self._reported_drops = 0
        self._thread: threading.Thread | None = None
        self._folded_seq = -1
        self._past_size = 0
        self._meta: dict[str, str] = {}

    # ---- the listener protocol ---------------------------------------------------------------------

    def attach(self, scn: Scenario, run_dir: Path, emit: Emit) -> None:
        """Called by the run's session before it writes anything: the scenario (with its secrets),
        the run directory and the emit path for `notify.failed`."""
        self.emit = emit
        self.notify = scn.notify
        self.run_dir = Path(run_dir)
        if scn.notify is None or self._thread is not None:
            return
        if self.resumed:  # what the journal holds now is the past: folded, never told again
            with contextlib.suppress(OSError):
                self._past_size = (self.run_dir / "journal.jsonl").stat().st_size
        self.redactor = Redactor(scn.secrets)
        link = scn.notify.console_url or self.console_url
        self.tracker = Tracker(lang=scn.notify.lang, console_url=link, resumed=self.resumed)
        self._meta = {"drill": scn.title, "scenario": scn.name, "timezone": scn.timezone}
        for channel in scn.notify.channels:
            sender = ChannelSender(
                channel,
                PLATFORMS[channel.platform],
                self._batch,
                timeout=scn.notify.timeout,
                report=self._report,
                window=self.window,
            )
            self.senders[channel.id] = sender
            sender.start()
        self._thread = threading.Thread(target=self._route_loop, name="notify-router", daemon=True)
        self._thread.start()

    def on_event(self, record: Record) -> None:
        if self._thread is None or record["event"] == NOTIFY_FAILED:
            return
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        """Let the router finish the records it has, then give the senders until the flush deadline
        (`flush_timeout` in all, 5 s by default) to send what waits; what is left is journaled as
        dropped, a request still unanswered as failed."""
        if self._thread is None or self.notify is None:
            return
        bound = self.flush_timeout
        deadline = time.monotonic() + bound
        with contextlib.suppress(queue.Full):
            self.queue.put(_STOP, timeout=max(0.1, deadline - time.monotonic()))
        self._thread.join(max(0.0, deadline - time.monotonic()))
        for sender in self.senders.values():
            sender.finish()
        for sender in self.senders.values():
            left, unanswered = sender.join(deadline)
            if unanswered:
                why = f"no answer within {bound:g}s after the run ended"
                self._report(Failure(sender.channel, unanswered, why))
            if left:
                why = f"not sent within {bound:g}s after the run ended"
                self._report(Failure(sender.channel, left, why, dropped=True))

    # ---- the router thread -----------------------------------------------------------------------

    def _route_loop(self) -> None:
        assert self.tracker is not None
        next_tick = time.monotonic() + TICK
        while True:
            try:
                item = self.queue.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            messages: list[Message] = []
            try:
                if item is not None:
                    messages += self._apply(item)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK
                    messages += self.tracker.tick()
            except Exception:
                log.exception("notify: cannot make the messages of a record")
            self._dispatch(messages)
            self._report_drops()

    def _apply(self, record: Record) -> list[Message]:
        assert self.tracker is not None
        if record["event"] == RUN_STARTED:
            self._meta["run_id"] = str(record.get("run_id") or "")
            messages = self.tracker.apply(record)
            if self.resumed:
                self._fold_journal()
            return messages
        if int(record.get("seq", -1)) <= self._folded_seq:
            return []  # folded from the journal on resume
        return self.tracker.apply(record)

    def _fold_journal(self) -> None:
        """On resume: learn what the earlier session(s) did (the journal as it was when the resume
        began), without telling anyone again."""
        assert self.tracker is not None
        if self.run_dir is None or not self._past_size:
            return
        try:
            with (self.run_dir / "journal.jsonl").open("rb") as fh:
                data = fh.read(self._past_size)
        except OSError:
            log.warning("notify: cannot read the journal to resume the notifications", exc_info=True)
            return
        for line in data.splitlines():
            with contextlib.suppress(ValueError, TypeError, KeyError):
                rec = json.loads(line)
                if rec.get("event") != RUN_STARTED:
                    self.tracker.apply(rec)
                self._folded_seq = max(self._folded_seq, int(rec.get("seq", -1)))
        self.tracker.ended = False
        self.tracker.breached |= set(self.tracker.recovered)
        self.tracker.predicted |= set(self.tracker.recovered)

    def _dispatch(self, messages: list[Message]) -> None:
        assert self.notify is not None
        for message in messages:
            for channel in route(message, self.notify.channels):
                self.senders[channel.id].put(message)

    def _batch(self, messages: Sequence[Message]) -> Batch:
        lang = self.notify.lang if self.notify is not None else "en"
        return Batch(
            messages=messages,
            lang=lang,
            timezone=self._meta.get("timezone", "UTC"),
            drill=self._meta.get("drill", ""),
            scenario=self._meta.get("scenario", ""),
            run_id=self._meta.get("run_id", ""),
        )

    # ---- failures ---------------------------------------------------------------------------------

    def _report_drops(self) -> None:
        if self.dropped == self._reported_drops or not self.senders:
            return
        count, self._reported_drops = self.dropped - self._reported_drops, self.dropped
        self._journal(
            {"channel": None, "platform": None, "messages": 0, "kinds": [], "status": None, "dropped": True},
            f"the notification queue was full: {count} journal record(s) were not looked at",
        )

    def _report(self, failure: Failure) -> None:
        kinds = sorted({m.kind for m in failure.messages})
        payload: dict[str, Any] = {
            "channel": failure.channel.id,
            "platform": failure.channel.platform,
            "messages": len(failure.messages),
            "kinds": kinds,
            "status": failure.status,
        }
        if failure.dropped:
            payload["dropped"] = True
        self._journal(payload, failure.error)

    def _journal(self, payload: dict[str, Any], error: str) -> None:
        error = self.redactor.mask(error)
        log.warning("notify: channel %s: %s", payload.get("channel"), error)
        record = None
        if self.emit is not None:
            try:
                record = self.emit(notify_failed(**payload, error=error))
            except Exception:
                record = None
        if record is None:
            self._to_drill_log(payload, error)

    def _to_drill_log(self, payload: dict[str, Any], error: str) -> None:
        if self.run_dir is None:
            return
        line = (
            f"{utc_ts()} {NOTIFY_FAILED} channel={payload.get('channel')} messages={payload.get('messages')}"
        )
        line += f" kinds={','.join(payload.get('kinds') or [])}"
        line += f"{' dropped' if payload.get('dropped') else ''}: {error}\n"
        with contextlib.suppress(OSError), (self.run_dir / "drill.log").open("a", encoding="utf-8") as fh:
            fh.write(self.redactor.mask(line))


__all__ = ["NOTIFY_FAILED", "NotifyListener", "route"]
