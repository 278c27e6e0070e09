"""One thread per channel posts its messages: as soon as the robot's limiter allows, everything
waiting that fits in one request goes (one message, or a digest). A slow or dead receiver only
delays its own channel; every request has a timeout. Failures are handed to `report`, never raised.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bcdrill.listeners.notify.base import Batch, HttpRequest, Platform
from bcdrill.listeners.notify.messages import Message
from bcdrill.listeners.notify.outbox import WINDOW, Limiter, Outbox
from bcdrill.scenario.model import NotifyChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    channel: NotifyChannel
    messages: Sequence[Message]
    error: str
    status: int | None = None
    dropped: bool = False  # never sent (not a refusal or a network error)


def post(request: HttpRequest, timeout: float) -> tuple[int, bytes]:
    """POST with the stdlib; (status, body) of any HTTP answer; raises OSError when there is none."""
    req = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read(65536)
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(65536) if exc.fp is not None else b""


@dataclass
class Stats:
    requests: int = 0  # accepted requests
    messages: int = 0  # messages in them
    digests: int = 0  # requests that carried more than one message
    failed: int = 0  # messages in refused or failed requests


class ChannelSender:
    def __init__(
        self,
        channel: NotifyChannel,
        platform: Platform,
        batch: Callable[[Sequence[Message]], Batch],
        *,
        timeout: float,
        report: Callable[[Failure], None],
        window: float = WINDOW,
        send: Callable[[HttpRequest, float], tuple[int, bytes]] = post,
    ) -> None:
        self.channel = channel
        self.platform = platform
        self.batch = batch
        self.timeout = timeout
        self.report = report
        self.send = send
        self.limiter = Limiter(channel.per_minute, window=window)
        self.outbox = Outbox()
        self.stats = Stats()
        self.sent_at: list[float] = []  # monotonic times of the requests made (for tests and the log)
        self.inflight: list[Message] = []  # the messages of the request being made
        self.abandoned = False  # `join` gave up on the thread: it reports nothing more
        self._cond = threading.Condition()
        self._finishing = False
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=f"notify-{channel.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, message: Message) -> None:
        with self._cond:
            self.outbox.add(message)
            self._cond.notify()

    def finish(self) -> None:
        """Send what is waiting (as the limits allow), then end."""
        with self._cond:
            self._finishing = True
            self._cond.notify()

    def join(self, deadline: float) -> tuple[list[Message], list[Message]]:
        """Wait for the thread until `deadline` (monotonic): (the messages never sent, those of a
        request still unanswered). The thread is then abandoned (a daemon): it reports nothing more."""
        self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            self._stopped = True
            self.abandoned = self._thread.is_alive()
            self._cond.notify()
            left = list(self.outbox.pending)
            self.outbox.pending.clear()
            unanswered = list(self.inflight) if self.abandoned else []
        return left, unanswered

    def _next(self) -> tuple[list[Message] | None, list[Message]]:
        """(the next batch to send once the limiter allows, or None when the thread should end;
        the messages dropped meanwhile because too many were waiting)."""
        with self._cond:
            while not self._stopped:
                if self.outbox.lost:
                    return [], self.outbox.take_lost()
                if not self.outbox:
                    if self._finishing:
                        return None, []
                    self._cond.wait()
                    continue
                wait = self.limiter.wait(time.monotonic())
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self.limiter.take(time.monotonic())
                return self.outbox.take(lambda msgs: self.platform.fits(self.batch(msgs))), []
            return None, []

    def _loop(self) -> None:
        while True:
            batch, lost = self._next()
            if lost:
                self._failed(
                    Failure(self.channel, lost, "more messages waited than the channel holds", dropped=True)
                )
            if batch is None:
                return
            if batch:
                self._deliver(batch)

    def _deliver(self, messages: list[Message]) -> None:
        self.sent_at.append(time.monotonic())
        with self._cond:
            self.inflight = messages
        status: int | None = None
        try:
            request = self.platform.request(self.channel, self.batch(messages), time.time())
            status, body = self.send(request, self.timeout)
            refusal = self.platform.accepted(status, body)
        except Exception as exc:
            refusal = f"{type(exc).__name__}: {exc}"
        with self._cond:
            self.inflight = []
            if self.abandoned:  # `join` has reported these messages already
                return
        if refusal is not None:
            self._failed(Failure(self.channel, messages, refusal, status))
            return
        self.stats.requests += 1
        self.stats.messages += len(messages)
        self.stats.digests += len(messages) > 1

    def _failed(self, failure: Failure) -> None:
        self.stats.failed += len(failure.messages)
        try:
            self.report(failure)
        except Exception:
            log.exception("notify: cannot report a failure of channel %s", self.channel.id)
