"""The notifier's limits: the robots' 20 a minute with a clock the test holds, and the bounded flush at
the end of a run (a request that never returns, messages still waiting behind it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from bcdrill.common.timestamps import utc_ts
from bcdrill.listeners.notify import NotifyListener
from bcdrill.listeners.notify.base import Batch, HttpRequest
from bcdrill.listeners.notify.messages import Message
from bcdrill.listeners.notify.outbox import Limiter, Outbox
from bcdrill.listeners.notify.registry import PLATFORMS
from bcdrill.listeners.notify.sender import ChannelSender, Failure
from bcdrill.record.events import Entry, Record
from bcdrill.scenario.loader import load_scenario
from bcdrill.scenario.model import NotifyChannel, Pos


def message(n: int, kind: Any = "failed") -> Message:
    return Message(kind=kind, title=f"Step failed: f{n:03d}", ts="2026-12-05T10:00:00Z", step=f"f{n:03d}")


def test_the_limiter_never_allows_more_than_20_in_any_minute() -> None:
    limiter = Limiter(20)
    now, sent = 0.0, []
    while now < 600:  # ten minutes of a sender that sends whenever it may
        wait = limiter.wait(now)
        if wait == 0:
            limiter.take(now)
            sent.append(now)
        now += max(wait, 0.01)
    worst = max(sum(1 for s in sent if start <= s < start + 60) for start in sent)
    assert worst == 20
    assert 190 <= len(sent) <= 203  # the rate holds over time, not only the cap


def test_what_waits_goes_as_one_digest_as_far_as_it_fits() -> None:
    outbox = Outbox()
    for n in range(10):
        outbox.add(message(n))
    assert len(outbox.take(lambda batch: len(batch) <= 4)) == 4
    assert len(outbox.take(lambda batch: True)) == 6 and not outbox


def test_an_outbox_that_overflows_keeps_the_newest_and_says_what_it_lost() -> None:
    outbox = Outbox(limit=3)
    for n in range(5):
        outbox.add(message(n))
    assert [m.step for m in outbox.pending] == ["f002", "f003", "f004"]
    assert [m.step for m in outbox.take_lost()] == ["f000", "f001"]


class Hanging:
    """A `send` that holds every request until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.requests = 0

    def __call__(self, request: HttpRequest, timeout: float) -> tuple[int, bytes]:
        self.requests += 1
        self.started.set()
        self.release.wait(30)
        return 200, b'{"errcode": 0}'


def sender_with(send: Hanging, failures: list[Failure]) -> ChannelSender:
    channel = NotifyChannel(id="ops", platform="wecom", url="http://127.0.0.1/wecom", pos=Pos("d.yaml", 1, 1))

    def batch(messages: Sequence[Message]) -> Batch:
        return Batch(messages=messages)

    return ChannelSender(channel, PLATFORMS["wecom"], batch, timeout=30, report=failures.append, send=send)


def test_the_flush_gives_up_at_its_deadline_unanswered_and_waiting_told_apart() -> None:
    send, failures = Hanging(), []
    sender = sender_with(send, failures)
    sender.start()
    sender.put(message(0, "started"))
    assert send.started.wait(10)
    sender.put(message(1))
    sender.put(message(2, "ended"))
    sender.finish()
    begun = time.monotonic()
    left, unanswered = sender.join(time.monotonic() + 0.3)
    assert time.monotonic() - begun < 2  # bounded, although the request never returns
    assert [m.kind for m in unanswered] == ["started"]
    assert [m.kind for m in left] == ["failed", "ended"]
    send.release.set()  # the abandoned request returns late: it reports nothing more
    sender._thread.join(10)
    assert failures == [] and send.requests == 1


def test_a_sender_that_finishes_in_time_sends_everything() -> None:
    send, failures = Hanging(), []
    send.release.set()
    sender = sender_with(send, failures)
    sender.start()
    for n in range(5):
        sender.put(message(n))
    sender.finish()
    left, unanswered = sender.join(time.monotonic() + 10)
    assert (left, unanswered, failures) == ([], [], [])
    assert sender.stats.messages == 5


def test_the_listener_journals_the_unanswered_request_and_the_dropped_end(tmp_path: Path) -> None:
    scenario = tmp_path / "drill.yaml"
    scenario.write_text(
        "version: 1\nname: n\ntitle: t\nenvironment: lab\n"
        "notify:\n  channels:\n    soc:\n      webhook: {url: 'http://127.0.0.1:9/hook'}\n"
        "steps:\n  - {id: one, run: 'true'}\n",
        encoding="utf-8",
    )
    scn = load_scenario(str(scenario))
    entries: list[Entry] = []

    def emit(entry: Entry) -> Entry:
        entries.append(entry)
        return entry

    listener = NotifyListener(flush_timeout=0.3)
    listener.attach(scn, tmp_path, emit)
    send = Hanging()
    listener.senders["soc"].send = send
    snapshot = {"title": "t", "timezone": "UTC", "teams": {}, "systems": {}, "steps": []}
    listener.on_event(
        cast(Record, {"event": "run.started", "seq": 0, "t": 0.0, "ts": utc_ts(), "snapshot": snapshot})
    )
    assert send.started.wait(10)
    listener.on_event(
        cast(Record, {"event": "run.finished", "seq": 1, "t": 0.1, "ts": utc_ts(), "status": "complete"})
    )
    begun = time.monotonic()
    listener.close()
    assert time.monotonic() - begun < 2
    send.release.set()
    told = [(e.event, e.payload["kinds"], e.payload.get("dropped", False)) for e in entries]
    assert told == [("notify.failed", ["started"], False), ("notify.failed", ["ended"], True)], entries
    assert "after the run ended" in str(entries[1].payload["error"])
