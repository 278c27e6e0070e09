"""What happened to the run itself, a pure function of the journal: interruptions, aborts, crashes,
resumes (who, when, with which decisions), rollbacks, processes a killed runner left, and the gaps in
which nothing ran. A run that was stopped and resumed is never shown as an untroubled one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bcdrill.record.events import (
    COMMANDER_ACTION,
    NOTIFY_FAILED,
    RUN_FINISHED,
    RUN_INTERRUPTED,
    RUN_RESUMED,
    RUN_STARTED,
    STEP_ORPHANS,
    STEP_STARTED,
    Record,
    RunResumed,
)


@dataclass(frozen=True)
class Episode:
    """One run-level event: kind is interrupted | aborted | crashed | resumed | rollback | orphans |
    commander (a drill commander's decision in the web console: hold, continue, skip, retry, mark_done) |
    notify (chat notifications that could not be delivered: a `notify.failed` line)."""

    kind: str
    ts: str
    t: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    episodes: tuple[Episode, ...]
    gaps: tuple[tuple[float, float], ...]  # (t stopped, t resumed): nothing ran in between

    @property
    def resumes(self) -> int:
        return sum(1 for e in self.episodes if e.kind == "resumed")

    def count(self, kind: str) -> int:
        return sum(1 for e in self.episodes if e.kind == kind)

    @property
    def troubled(self) -> bool:
        return any(
            e.kind in ("interrupted", "aborted", "crashed", "rollback", "orphans") for e in self.episodes
        )

    def status_detail(self, status: str) -> str:
        """`complete after 2 resumes (aborted 1×, crashed 1×)`, or the plain status."""
        if not self.episodes:
            return status
        counts = [
            f"{k} {self.count(k)}×"
            for k in ("aborted", "interrupted", "crashed", "rollback")
            if self.count(k)
        ]
        resumed = f" after {self.resumes} resume{'s' if self.resumes != 1 else ''}" if self.resumes else ""
        return f"{status}{resumed}" + (f" ({', '.join(counts)})" if counts else "")


class HistoryFold:
    """`run_history` built one journal record at a time (`add`), in journal order."""

    def __init__(self) -> None:
        self._episodes: list[Episode] = []
        self._gaps: list[tuple[float, float]] = []
        self._stopped = False  # the last run-level line said the run ended (finished or interrupted)
        self._in_rollback = False
        self._last_t, self._last_ts = 0.0, ""

    def add(self, ev: Record) -> None:
        episodes = self._episodes
        if ev["event"] == RUN_INTERRUPTED:
            episodes.append(Episode("interrupted", ev["ts"], ev["t"], _pick(ev, "reason", "in_flight")))
        elif ev["event"] == RUN_FINISHED:
            self._stopped, self._in_rollback = True, False
            if ev["status"] == "aborted":
                episodes.append(Episode("aborted", ev["ts"], ev["t"], {"exit_code": ev["exit_code"]}))
        elif ev["event"] == RUN_RESUMED:
            self._resumed(ev)
        elif ev["event"] == STEP_ORPHANS:
            episodes.append(
                Episode(
                    "orphans", ev["ts"], ev["t"], _pick(ev, "step", "attempt", "found", "ended", "killed")
                )
            )
        elif ev["event"] == STEP_STARTED and ev.get("rollback") and not self._in_rollback:
            self._in_rollback = True
            episodes.append(Episode("rollback", ev["ts"], ev["t"], {"first_step": ev["step"]}))
        elif ev["event"] == COMMANDER_ACTION:
            keys = ("action", "step", "by", "role", "reason", "via", "client")
            episodes.append(Episode("commander", ev["ts"], ev["t"], _pick(ev, *keys)))
        elif ev["event"] == NOTIFY_FAILED:
            keys = ("channel", "platform", "messages", "kinds", "status", "error", "dropped")
            episodes.append(Episode("notify", ev["ts"], ev["t"], _pick(ev, *keys)))
        elif ev["event"] == RUN_STARTED:
            self._stopped = False
        if ev["event"] not in (RUN_RESUMED, STEP_ORPHANS):
            self._last_t, self._last_ts = ev["t"], ev["ts"]

    def _resumed(self, ev: RunResumed) -> None:
        if not self._stopped:  # no run.finished or run.interrupted before: the runner was killed
            self._episodes.append(
                Episode(
                    "crashed", self._last_ts or ev["ts"], self._last_t, {"last_line_before": self._last_ts}
                )
            )
        detail = _pick(ev, "user", "host", "argv", "rerun", "mark_done", "dropped_partial_line")
        self._episodes.append(Episode("resumed", ev["ts"], ev["t"], detail))
        self._gaps.append((self._last_t, ev["t"]))
        self._stopped = False

    def history(self) -> History:
        return History(tuple(self._episodes), tuple(self._gaps))


def run_history(events: Iterable[Record]) -> History:
    fold = HistoryFold()
    for ev in events:
        fold.add(ev)
    return fold.history()


def _pick(ev: Record, *keys: str) -> dict[str, Any]:
    raw: dict[str, Any] = dict(ev)  # a TypedDict read as the mapping it is
    return {k: raw[k] for k in keys if raw.get(k) not in (None, [], {})}


def history_json(history: History) -> list[dict[str, Any]]:
    """summary.json's `history`: one object per episode."""
    return [{"kind": e.kind, "ts": e.ts, "t": e.t, **e.detail} for e in history.episodes]
