"""Rate limits and digests, without threads or clocks of their own (the caller passes `now`).

`Limiter` is the token bucket of one robot: `burst` tokens, refilled at `per_minute` a minute, and a
hard cap of `per_minute` sends in any sliding `window` (60 s; the platforms count that way, so a
full bucket right after a full minute never lets 2 × 20 through). `Outbox` holds the messages a
robot has not sent yet; when it may send, it takes as many as fit in one request — a digest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from bcdrill.listeners.notify.messages import Message

BURST = 3
WINDOW = 60.0
MAX_PENDING = 1000


class Limiter:
    def __init__(self, per_minute: int, *, window: float = WINDOW, burst: int = BURST) -> None:
        self.per_minute = per_minute
        self.window = window
        self.rate = per_minute / window  # tokens a second
        self.capacity = float(max(1, min(burst, per_minute)))
        self.tokens = self.capacity
        self.stamp: float | None = None
        self.sent: deque[float] = deque()

    def _refill(self, now: float) -> None:
        if self.stamp is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        while self.sent and self.sent[0] <= now - self.window:
            self.sent.popleft()

    def wait(self, now: float) -> float:
        """Seconds until a send is allowed (0: now)."""
        self._refill(now)
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        if len(self.sent) >= self.per_minute:
            wait = max(wait, self.sent[0] + self.window - now)
        return max(0.0, wait)

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1
        self.sent.append(now)


class Outbox:
    def __init__(self, limit: int = MAX_PENDING) -> None:
        self.pending: deque[Message] = deque()
        self.limit = limit
        self.lost: list[Message] = []  # dropped (oldest first) when more than `limit` were waiting

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, message: Message) -> None:
        self.pending.append(message)
        while len(self.pending) > self.limit:
            self.lost.append(self.pending.popleft())

    def take(self, fits: Callable[[Sequence[Message]], bool]) -> list[Message]:
        """The oldest messages that fit in one request (at least one), removed from the outbox."""
        batch = [self.pending.popleft()] if self.pending else []
        while self.pending and fits([*batch, self.pending[0]]):
            batch.append(self.pending.popleft())
        return batch

    def take_lost(self) -> list[Message]:
        lost, self.lost = self.lost, []
        return lost
