"""The drill as the console shows it, folded from the journal one record at a time.

`DrillState.apply(record)` costs O(1) per record (a 10,000-step journal folds in linear time)
and remembers which steps changed, so that the event stream sends only those
(`take_changed`). The JSON views (`views.py`) read this state; nothing here does I/O.

Step status as the console shows it: `pending` (not started), `running`, `waiting` (a manual
step awaiting confirmation), `retrying` (an attempt failed, another follows), then the
journal's final status (`ok`, `failed`, `timeout`, `skipped`, `cancelled`, `interrupted`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bcdrill.common import dag
from bcdrill.common.timestamps import parse_ts
from bcdrill.record import events as ev

ENDS = ev.RUN_ENDS
OPEN = ("running", "waiting", "retrying")


@dataclass
class StepView:
    """One step of the scenario and what the journal says of it so far."""

    id: str
    title: str
    team: str | None = None
    phase: str | None = None
    kind: str | None = None
    systems: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    expect: float | None = None
    prompt: str | None = None
    on_failure: str = "abort"
    rollback: bool = False
    status: str = "pending"
    attempt: int = 0
    started_t: float | None = None  # first attempt
    started_ts: str | None = None
    attempt_t: float | None = None  # current attempt
    ended_t: float | None = None
    ended_ts: str | None = None
    duration: float | None = None
    detail: str | None = None
    waived: bool = False
    acks: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    planned_start: float | None = None
    planned_end: float | None = None

    @property
    def ended(self) -> bool:
        return self.status not in ("pending", *OPEN)


def _view(spec: Mapping[str, Any]) -> StepView:
    expect = spec.get("expect")
    return StepView(
        id=str(spec["id"]),
        title=str(spec.get("title") or spec["id"]),
        team=spec.get("team"),
        phase=spec.get("phase"),
        kind=spec.get("kind"),
        systems=tuple(spec.get("systems") or ()),
        needs=tuple(spec.get("needs") or ()),
        expect=float(expect) if isinstance(expect, (int, float)) else None,
        prompt=spec.get("prompt"),
        on_failure=str(spec.get("on_failure") or "abort"),
        rollback=bool(spec.get("rollback")),
    )


@dataclass(frozen=True)
class _Node:
    id: str
    needs: tuple[str, ...]


class DrillState:
    """Everything the console shows, kept up to date by `apply`."""

    def __init__(self) -> None:
        self.seq = -1
        self.started: dict[str, Any] = {}
        self.snapshot: dict[str, Any] = {}
        self.steps: dict[str, StepView] = {}
        self.order: list[str] = []  # main steps, dependencies first
        self.recovers: dict[str, str] = {}  # system -> the step that recovers it
        self.declaring: str | None = None
        self.t0: float | None = None
        self.t0_ts: str | None = None
        self.recovered: dict[str, dict[str, Any]] = {}
        self.rpo: dict[str, dict[str, Any]] = {}
        self.status = "starting"  # running | complete | aborted | interrupted | ...
        self.exit_code: int | None = None
        self.held_by: dict[str, Any] | None = None
        self.phase: str | None = None
        self.actions: list[dict[str, Any]] = []  # commander actions
        self.evidence: list[dict[str, Any]] = []
        self.notes = 0
        self.last_t = 0.0
        self.last_ts: str | None = None
        self.last_wall = 0.0  # the last record's time as a Unix time
        self.changed: set[str] = set()
        self.unsent_ts: str | None = None  # `ts` of the oldest record not yet sent in an update
        self.header_changed = False

    # ---- folding ----------------------------------------------------------------------------------

    def apply(self, rec: Mapping[str, Any]) -> None:
        self.seq = int(rec.get("seq", self.seq + 1))
        self.last_t = float(rec.get("t") or self.last_t)
        self.last_ts = rec.get("ts") or self.last_ts
        self.last_wall = _wall(self.last_ts) or time.time()
        self.unsent_ts = self.unsent_ts or self.last_ts
        self.header_changed = True
        handler = _HANDLERS.get(str(rec.get("event")))
        if handler is not None:
            handler(self, rec)

    def _started(self, rec: Mapping[str, Any]) -> None:
        self.started = dict(rec)
        self.snapshot = dict(rec.get("snapshot") or {})
        self.status = "running"
        for spec in [*(self.snapshot.get("steps") or ()), *(self.snapshot.get("rollback") or ())]:
            if isinstance(spec, Mapping) and spec.get("id"):
                self.steps[str(spec["id"])] = _view(spec)
                if spec.get("declares"):
                    self.declaring = str(spec["id"])
                for system in spec.get("recovers") or ():
                    self.recovers.setdefault(str(system), str(spec["id"]))
        main = [_Node(v.id, v.needs) for v in self.steps.values() if not v.rollback]
        self.order = dag.topological_order(main)
        plan = dag.schedule(main, {v.id: v.expect or 0.0 for v in self.steps.values()})
        for sid, begin in plan.start.items():
            self.steps[sid].planned_start, self.steps[sid].planned_end = begin, plan.finish[sid]

    def step(self, sid: str) -> StepView:
        view = self.steps.get(sid)
        if view is None:
            view = self.steps[sid] = StepView(sid, sid)
        self.changed.add(sid)
        return view

    def _step_started(self, rec: Mapping[str, Any]) -> None:
        view = self.step(str(rec["step"]))
        view.attempt = int(rec.get("attempt") or view.attempt + 1)
        view.kind = view.kind or rec.get("kind")
        view.status = "waiting" if view.kind == "manual" else "running"
        view.attempt_t = float(rec.get("t") or 0.0)
        if view.started_t is None:
            view.started_t, view.started_ts = view.attempt_t, rec.get("ts")
        view.ended_t = view.ended_ts = None
        if not view.rollback and view.phase:
            self.phase = view.phase
        elif view.rollback:
            self.phase = "rollback"

    def _step_finished(self, rec: Mapping[str, Any]) -> None:
        view = self.step(str(rec["step"]))
        view.attempt = int(rec.get("attempt") or view.attempt)
        view.detail = rec.get("detail")
        if rec.get("final", True):
            view.status = str(rec.get("status"))
            view.ended_t, view.ended_ts = float(rec.get("t") or 0.0), rec.get("ts")
            view.waived = bool(rec.get("waived"))
            if view.started_t is not None:
                view.duration = round(view.ended_t - view.started_t, 3)
        else:
            view.status = "retrying"

    def _ack(self, rec: Mapping[str, Any]) -> None:
        keys = ("by", "result", "note", "via", "role", "ts", "evidence")
        self.step(str(rec["step"])).acks.append({k: rec.get(k) for k in keys})

    def _evidence(self, rec: Mapping[str, Any]) -> None:
        keys = ("step", "file", "name", "sha256", "size", "by", "role", "ts")
        item = {k: rec.get(k) for k in keys}
        self.evidence.append(item)
        if rec.get("step") in self.steps:
            self.step(str(rec["step"])).evidence.append(item)

    def _action(self, rec: Mapping[str, Any]) -> None:
        keys = ("action", "step", "by", "role", "reason", "via", "ts")
        item = {k: rec.get(k) for k in keys}
        self.actions.append(item)
        if item["action"] == "hold":
            self.held_by = item
        elif item["action"] == "continue":
            self.held_by = None

    def _declared(self, rec: Mapping[str, Any]) -> None:
        self.t0, self.t0_ts = float(rec.get("t0") or 0.0), rec.get("t0_ts")

    def _recovered(self, rec: Mapping[str, Any]) -> None:
        self.recovered.setdefault(str(rec["system"]), dict(rec))

    def _rpo(self, rec: Mapping[str, Any]) -> None:
        self.rpo.setdefault(str(rec["system"]), dict(rec))

    def _note(self, rec: Mapping[str, Any]) -> None:
        self.notes += 1

    def _end(self, rec: Mapping[str, Any]) -> None:
        for view in self.steps.values():
            if view.status in OPEN:
                view.status = "interrupted"
                self.changed.add(view.id)
        self.held_by = None  # a resumed or stopped runner is not held
        if rec.get("event") == ev.RUN_FINISHED:
            self.status, self.exit_code = str(rec.get("status")), rec.get("exit_code")
        elif rec.get("event") == ev.RUN_INTERRUPTED:
            self.status = "interrupted"
        else:
            self.status, self.exit_code = "running", None

    # ---- reading ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.status == "running"

    def now_t(self, now: float | None = None) -> float:
        """The run's `t` now: the last record's `t` plus the wall time since (frozen once it ended)."""
        if not self.running:
            return self.last_t
        return self.last_t + max(0.0, (time.time() if now is None else now) - self.last_wall)

    def take_changed(self) -> list[StepView]:
        changed = [self.steps[sid] for sid in self.changed if sid in self.steps]
        self.changed.clear()
        self.unsent_ts = None
        return changed

    def waiting(self, sid: str) -> bool:
        view = self.steps.get(sid)
        return view is not None and view.status == "waiting" and self.running


def _wall(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        return parse_ts(ts).timestamp()
    except ValueError:
        return None


_HANDLERS = {
    ev.RUN_STARTED: DrillState._started,
    ev.STEP_STARTED: DrillState._step_started,
    ev.STEP_FINISHED: DrillState._step_finished,
    ev.MANUAL_ACK: DrillState._ack,
    ev.EVIDENCE_ADDED: DrillState._evidence,
    ev.COMMANDER_ACTION: DrillState._action,
    ev.CLOCK_DECLARED: DrillState._declared,
    ev.SYSTEM_RECOVERED: DrillState._recovered,
    ev.SYSTEM_RPO: DrillState._rpo,
    ev.NOTE: DrillState._note,
    ev.RUN_FINISHED: DrillState._end,
    ev.RUN_INTERRUPTED: DrillState._end,
    ev.RUN_RESUMED: DrillState._end,
}
