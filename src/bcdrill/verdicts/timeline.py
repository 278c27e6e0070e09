"""The per-step view of a run: a pure function of the journal, used by summary and reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from bcdrill.record.events import (
    MANUAL_ACK,
    RUN_ENDS,
    RUN_STARTED,
    STEP_FINISHED,
    STEP_STARTED,
    ManualAcknowledged,
    Record,
    RunStarted,
    StepFinished,
    StepStarted,
    StepStatus,
)
from bcdrill.record.snapshot import StepSpec

RunningStatus = StepStatus | Literal["running"]
"""A step's status in the timeline: a journaled status, or `running` (started, not finished)."""
ShownStatus = RunningStatus | Literal["not_run"]
"""What a report shows for a step: `not_run` when it never ran."""


@dataclass(frozen=True)
class Ack:
    """A manual confirmation: who, pass/fail, their note, when, and how it came in."""

    by: str | None
    result: str | None
    note: str | None
    ts: str
    via: str | None = None  # terminal | ack-file | console | auto | mark-done
    role: str | None = None  # console: the participant's role
    evidence: tuple[str, ...] = ()  # console: SHA-256 of the evidence files given with it


@dataclass(frozen=True)
class Attempt:
    attempt: int
    started_ts: str | None
    started_t: float | None
    finished_ts: str | None = None
    finished_t: float | None = None
    status: StepStatus | None = None
    duration: float | None = None
    exit_code: int | None = None
    detail: str | None = None


@dataclass
class StepRun:
    """A step of the scenario and what happened to it. `status` None: never ran."""

    id: str
    title: str
    phase: str | None = None
    team: str | None = None
    systems: tuple[str, ...] = ()
    kind: str | None = None
    rollback: bool = False
    status: RunningStatus | None = None
    exit_code: int | None = None
    detail: str | None = None
    log: str | None = None
    log_sha256: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)

    @property
    def started_ts(self) -> str | None:
        return self.attempts[0].started_ts if self.attempts else None

    @property
    def finished_ts(self) -> str | None:
        return self.attempts[-1].finished_ts if self.attempts else None

    @property
    def duration(self) -> float | None:
        """From the first attempt's start to the last attempt's end (retries included)."""
        if not self.attempts:
            return None
        first, last = self.attempts[0], self.attempts[-1]
        if first.started_t is not None and last.finished_t is not None:
            return round(last.finished_t - first.started_t, 6)
        return last.duration

    @property
    def history(self) -> str:
        """What went wrong before the last attempt, one line per attempt (empty when nothing)."""
        return "\n".join(
            f"#{a.attempt} {a.status}" + (f": {a.detail}" if a.detail else "")
            for a in self.attempts[:-1]
            if a.status != "ok"
        )

    @property
    def deviation(self) -> bool:
        """Failed, timed out, skipped, cancelled, interrupted, retried or never run."""
        return self.status != "ok" or len(self.attempts) > 1


def _from_snapshot(spec: StepSpec) -> StepRun:
    return StepRun(
        id=spec["id"],
        title=spec.get("title") or spec["id"],
        phase=spec.get("phase"),
        team=spec.get("team"),
        systems=tuple(spec.get("systems") or ()),
        kind=spec.get("kind"),
        rollback=bool(spec.get("rollback")),
    )


def _snapshot_steps(start: RunStarted) -> dict[str, StepRun]:
    snap = start.get("snapshot") or {}
    return {
        spec["id"]: _from_snapshot(spec)
        for spec in [*(snap.get("steps") or []), *(snap.get("rollback") or [])]
    }


def _on_start(run: StepRun, ev: StepStarted) -> None:
    number = ev.get("attempt") or len(run.attempts) + 1
    run.attempts.append(Attempt(attempt=number, started_ts=ev["ts"], started_t=ev["t"]))
    run.status = "running"
    run.kind = run.kind or ev.get("kind")


def _on_finish(run: StepRun, ev: StepFinished) -> None:
    started_t = ev.get("started_t")
    duration = ev.get("duration")
    if run.attempts and run.attempts[-1].finished_ts is None:
        current = run.attempts.pop()
        started_ts, started_t = current.started_ts, current.started_t
    elif ev.get("status") == "skipped":  # never started: no attempt
        run.status, run.detail = "skipped", ev.get("detail")
        return
    else:  # finished without a start: marked done on resume
        started_ts = None
    run.attempts.append(
        Attempt(
            attempt=ev.get("attempt") or len(run.attempts) + 1,
            started_ts=started_ts,
            started_t=started_t,
            finished_ts=ev["ts"],
            finished_t=ev["t"],
            status=ev.get("status"),
            duration=duration,
            exit_code=ev.get("exit_code"),
            detail=ev.get("detail"),
        )
    )
    run.status = ev.get("status")
    run.exit_code, run.detail = ev.get("exit_code"), ev.get("detail")
    run.log, run.log_sha256 = ev.get("log"), ev.get("log_sha256")


def _on_ack(run: StepRun, ev: ManualAcknowledged) -> None:
    evidence = tuple(ev.get("evidence") or ())
    run.acks.append(
        Ack(ev.get("by"), ev.get("result"), ev.get("note"), ev["ts"], ev.get("via"), ev.get("role"), evidence)
    )


class StepFold:
    """The per-step view built one journal record at a time (`add`), in journal order: a run's
    records need not all be held to know what happened to each step (`runs`)."""

    def __init__(self) -> None:
        self._runs: dict[str, StepRun] = {}
        self._started = False

    def _run_of(self, ev: StepStarted | StepFinished | ManualAcknowledged) -> StepRun:
        found = self._runs.get(ev["step"])
        if found is None:
            rollback = bool(ev.get("rollback"))
            found = self._runs[ev["step"]] = StepRun(id=ev["step"], title=ev["step"], rollback=rollback)
        return found

    def add(self, ev: Record) -> None:
        if ev["event"] in RUN_ENDS:
            for run in self._runs.values():
                if run.status == "running":
                    run.status = "interrupted"
        elif ev["event"] == STEP_STARTED:
            _on_start(self._run_of(ev), ev)
        elif ev["event"] == STEP_FINISHED:
            _on_finish(self._run_of(ev), ev)
        elif ev["event"] == MANUAL_ACK:
            _on_ack(self._run_of(ev), ev)
        elif ev["event"] == RUN_STARTED and not self._started:  # the scenario's steps, in its order
            self._started = True
            self._runs = {**_snapshot_steps(ev), **self._runs}

    def runs(self) -> list[StepRun]:
        """The scenario's steps in scenario order, then the rollback steps that ran."""
        ordered = [r for r in self._runs.values() if not r.rollback]
        return ordered + [r for r in self._runs.values() if r.rollback and r.status is not None]


def step_runs(events: Iterable[Record]) -> list[StepRun]:
    """Every step of the scenario (in scenario order, then rollback steps), with its attempts.

    A step started but never finished is `running`, or `interrupted` once the journal shows the
    run ended, was interrupted or was resumed after it. Steps that never ran have status None.
    """
    fold = StepFold()
    for ev in events:
        fold.add(ev)
    return fold.runs()
