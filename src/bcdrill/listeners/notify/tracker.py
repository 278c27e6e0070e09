"""Which journal records deserve a message, folded one record at a time (no I/O).

- `run.started` → drill started (or, when the listener serves `drill resume`, nothing: the
  `run.resumed` that follows says "resumed");
- `step.started` of a manual step nobody answers at once (no `--auto-ack`, no dry run) → waiting
  for its team, with the console link;
- `step.finished` final `failed`/`timeout` → failed step;
- `system.recovered` later than its target → RTO missed (an actual breach);
- `run.finished` → drill ended with its verdict;
- `tick(now)` (about once a second): an actual breach (a system not recovered when its target has
  passed since T0) and a predicted one: the projection of `verdicts/projection.py` from each step's
  `expect` says the system will recover after its target, or cannot recover any more. Each
  system's prediction and breach is told once.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bcdrill.common import dag
from bcdrill.common.duration import format_duration
from bcdrill.common.timestamps import parse_ts, utc_ts
from bcdrill.listeners.notify.messages import STATUS_WORDS, VERDICTS, Lang, Message, phrase
from bcdrill.record.events import (
    CLOCK_DECLARED,
    RUN_FINISHED,
    RUN_RESUMED,
    RUN_STARTED,
    STEP_FINISHED,
    STEP_STARTED,
    SYSTEM_RECOVERED,
)
from bcdrill.verdicts.projection import StepProgress, project_steps, project_systems

FAILED = ("failed", "timeout")


@dataclass
class _Step:
    id: str
    label: str
    team: str | None
    kind: str | None
    needs: tuple[str, ...]
    expect: float
    prompt: str | None
    rollback: bool
    on_failure: str
    started_t: float | None = None
    ended_t: float | None = None
    ok: bool | None = None


@dataclass(frozen=True)
class _Node:
    id: str
    needs: tuple[str, ...]


@dataclass
class Tracker:
    lang: Lang = "en"
    console_url: str | None = None
    resumed: bool = False  # serving `drill resume`: the replayed run.started is not news
    clock: Callable[[], float] = time.time
    title: str = ""
    run_dir: str = "RUN_DIR"
    timezone: str = "UTC"
    answered: bool = False  # manual steps are acknowledged at once (--auto-ack, dry run)
    teams: dict[str, str] = field(default_factory=dict)
    steps: dict[str, _Step] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    targets: dict[str, float] = field(default_factory=dict)  # system -> RTO target, seconds
    titles: dict[str, str] = field(default_factory=dict)
    recovers: dict[str, str] = field(default_factory=dict)  # system -> step that recovers it
    declaring: str | None = None
    t0: float | None = None
    recovered: dict[str, float] = field(default_factory=dict)
    predicted: set[str] = field(default_factory=set)
    breached: set[str] = field(default_factory=set)
    last_t: float = 0.0
    last_wall: float | None = None
    ended: bool = False

    # ---- records --------------------------------------------------------------------------------

    def apply(self, rec: Mapping[str, Any]) -> list[Message]:
        self.last_t = float(rec.get("t") or self.last_t)
        self.last_wall = _wall(rec.get("ts")) or self.last_wall
        handler = _HANDLERS.get(str(rec.get("event")))
        return handler(self, rec) if handler is not None else []

    def _started(self, rec: Mapping[str, Any]) -> list[Message]:
        snap = rec.get("snapshot") or {}
        self.title = str(snap.get("title") or rec.get("scenario") or "")
        self.timezone = str(snap.get("timezone") or "UTC")
        self.run_dir = str(rec.get("run_dir") or self.run_dir)
        self.answered = bool(rec.get("auto_ack") or rec.get("dry_run"))
        self.teams = {k: str((v or {}).get("title") or k) for k, v in (snap.get("teams") or {}).items()}
        self._systems(snap.get("systems") or {})
        for spec in [*(snap.get("steps") or ()), *(snap.get("rollback") or ())]:
            self._add_step(spec)
        main = [_Node(s.id, s.needs) for s in self.steps.values() if not s.rollback]
        self.order = dag.topological_order(main)
        if self.resumed:
            return []
        lines = [f"{rec.get('environment') or snap.get('environment') or ''} · {rec.get('run_id') or ''}"]
        if rec.get("dry_run"):
            lines.append("DRY RUN")
        return [self._message("started", phrase("started", self.lang, title=self.title), rec, lines=lines)]

    def _systems(self, systems: Mapping[str, Any]) -> None:
        for sid, spec in systems.items():
            spec = spec if isinstance(spec, Mapping) else {}
            self.titles[sid] = str(spec.get("title") or sid)
            if isinstance(spec.get("rto"), (int, float)):
                self.targets[sid] = float(spec["rto"])

    def _add_step(self, spec: Mapping[str, Any]) -> None:
        sid = str(spec["id"])
        expect = spec.get("expect")
        self.steps[sid] = _Step(
            id=sid,
            label=str(spec.get("title") or sid),
            team=spec.get("team"),
            kind=spec.get("kind"),
            needs=tuple(spec.get("needs") or ()),
            expect=float(expect) if isinstance(expect, (int, float)) else 0.0,
            prompt=spec.get("prompt"),
            rollback=bool(spec.get("rollback")),
            on_failure=str(spec.get("on_failure") or "abort"),
        )
        if spec.get("declares"):
            self.declaring = sid
        for system in spec.get("recovers") or ():
            self.recovers.setdefault(str(system), sid)

    def _resumed(self, rec: Mapping[str, Any]) -> list[Message]:
        self.answered = bool(rec.get("auto_ack") or rec.get("dry_run"))
        return [self._message("started", phrase("resumed", self.lang, title=self.title), rec)]

    def _step_started(self, rec: Mapping[str, Any]) -> list[Message]:
        step = self.steps.get(str(rec["step"]))
        if step is None:
            return []
        step.started_t = step.started_t if step.started_t is not None else float(rec.get("t") or 0.0)
        if step.kind != "manual" or self.answered:
            return []
        team = self.teams.get(step.team or "", step.team or "-")
        lines = [step.prompt] if step.prompt else []
        lines.append(f"drill ack {self.run_dir} {step.id} --by NAME")
        title = phrase("waiting", self.lang, team=team, step=step.label)
        return [self._message("waiting", title, rec, lines=lines, step=step, severity="warning")]

    def _step_finished(self, rec: Mapping[str, Any]) -> list[Message]:
        step = self.steps.get(str(rec["step"]))
        if step is None or not rec.get("final", True):
            return []
        status = str(rec.get("status"))
        step.ended_t, step.ok = float(rec.get("t") or 0.0), status == "ok" or bool(rec.get("waived"))
        if status not in FAILED:
            return []
        word = STATUS_WORDS[status][self.lang]
        lines = [str(rec.get("detail") or "")] if rec.get("detail") else []
        title = phrase("failed", self.lang, status=word, step=step.label)
        severity = "critical" if step.on_failure == "abort" else "warning"
        return [self._message("failed", title, rec, lines=lines, step=step, severity=severity)]

    def _declared(self, rec: Mapping[str, Any]) -> list[Message]:
        self.t0 = float(rec.get("t0") or 0.0)
        return []

    def _recovered(self, rec: Mapping[str, Any]) -> list[Message]:
        system = str(rec["system"])
        rto = float(rec.get("rto") or 0.0)
        self.recovered[system] = rto
        target = self.targets.get(system)
        if target is None or rto <= target or system in self.breached:
            return []
        self.breached.add(system)
        title = phrase("rto_missed", self.lang, system=self.titles.get(system, system), **_times(rto, target))
        return [self._message("rto_breached", title, rec, system=system, severity="critical")]

    def _finished(self, rec: Mapping[str, Any]) -> list[Message]:
        self.ended = True
        status, code = str(rec.get("status")), rec.get("exit_code")
        key = status if status in ("aborted", "interrupted") else ("met" if code == 0 else "missed")
        verdict = VERDICTS[key][self.lang]
        lines = [self._rto_line(sid) for sid in self.targets]
        severity = "info" if key == "met" else "critical"
        title = phrase("ended", self.lang, title=self.title, verdict=verdict)
        data = {"status": status, "exit_code": code}
        return [self._message("ended", title, rec, lines=lines, severity=severity, data=data)]

    def _rto_line(self, system: str) -> str:
        target, rto = self.targets[system], self.recovered.get(system)
        mark = "✔" if rto is not None and rto <= target else "✘"
        name = self.titles.get(system, system)
        return f"{mark} {name}: RTO {format_duration(rto)} / {format_duration(target)}"

    # ---- the clock ------------------------------------------------------------------------------

    def now_t(self) -> float:
        """The run's `t` now: the last record's `t` plus the wall time since its `ts`."""
        if self.last_wall is None:
            return self.last_t
        return self.last_t + max(0.0, self.clock() - self.last_wall)

    def tick(self) -> list[Message]:
        """Actual and predicted RTO breaches, as of now (each told once per system)."""
        if self.ended or not self.targets or not self.order:
            return []
        now_t = self.now_t()
        out = self._actual(now_t)
        pending = [s for s in self.targets if s not in self.recovered and s not in self.predicted]
        if pending:
            out += self._predicted(pending, now_t)
        return out

    def _actual(self, now_t: float) -> list[Message]:
        if self.t0 is None:
            return []
        out = []
        for system, target in self.targets.items():
            elapsed = now_t - self.t0
            if system in self.recovered or system in self.breached or elapsed <= target:
                continue
            self.breached.add(system)
            self.predicted.add(system)  # nothing left to predict
            name = self.titles.get(system, system)
            title = phrase("rto_breached", self.lang, system=name, **_times(elapsed, target))
            out.append(self._message("rto_breached", title, None, system=system, severity="critical"))
        return out

    def _predicted(self, systems: list[str], now_t: float) -> list[Message]:
        progress = {
            s.id: StepProgress(s.needs, s.expect, s.started_t, s.ended_t, s.ok)
            for s in self.steps.values()
            if not s.rollback
        }
        ends = project_steps(self.order, progress, now_t)
        t0 = self.t0 if self.t0 is not None else (ends.get(self.declaring) if self.declaring else 0.0)
        projections = project_systems(
            {s: self.recovers[s] for s in systems if s in self.recovers}, progress, ends
        )
        out = []
        for system, proj in projections.items():
            target, name = self.targets[system], self.titles.get(system, system)
            if proj.projected_t is None:
                title = phrase(
                    "rto_unreachable", self.lang, system=name, step=self.recovers[system], **_times(0, target)
                )
            elif t0 is not None and proj.projected_t - t0 > target:
                title = phrase(
                    "rto_predicted", self.lang, system=name, **_times(0, target, proj.projected_t - t0)
                )
            else:
                continue
            self.predicted.add(system)
            path = " → ".join(self.steps[s].label for s in proj.path) if proj.path else ""
            out.append(
                self._message(
                    "rto_predicted",
                    title,
                    None,
                    lines=(path,) if path else (),
                    system=system,
                    severity="warning",
                )
            )
        return out

    # ---- building ---------------------------------------------------------------------------------

    def _message(
        self,
        kind: Any,
        title: str,
        rec: Mapping[str, Any] | None,
        *,
        lines: Any = (),
        step: _Step | None = None,
        system: str | None = None,
        severity: Any = "info",
        data: dict[str, object] | None = None,
    ) -> Message:
        ts = str(rec.get("ts")) if rec is not None and rec.get("ts") else utc_ts()
        return Message(
            kind=kind,
            title=title,
            ts=ts,
            lines=tuple(line for line in lines if line),
            link=self._link(step.id if step else None),
            team=step.team if step else None,
            step=step.id if step else None,
            system=system,
            severity=severity,
            data=data or {},
        )

    def _link(self, step: str | None) -> str | None:
        if not self.console_url:
            return None
        return f"{self.console_url}/" + (f"#step={urllib.parse.quote(step)}" if step else "")


def _times(elapsed: float, target: float, projected: float | None = None) -> dict[str, str]:
    out = {"elapsed": format_duration(elapsed), "target": format_duration(target)}
    if projected is not None:
        out["projected"] = format_duration(projected)
    return out


def _wall(ts: object) -> float | None:
    if not isinstance(ts, str):
        return None
    try:
        return parse_ts(ts).timestamp()
    except ValueError:
        return None


_HANDLERS: dict[str, Callable[[Tracker, Mapping[str, Any]], list[Message]]] = {
    RUN_STARTED: Tracker._started,
    RUN_RESUMED: Tracker._resumed,
    STEP_STARTED: Tracker._step_started,
    STEP_FINISHED: Tracker._step_finished,
    CLOCK_DECLARED: Tracker._declared,
    SYSTEM_RECOVERED: Tracker._recovered,
    RUN_FINISHED: Tracker._finished,
}
