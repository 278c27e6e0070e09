"""The JSON the console serves (`GET /api/state`, the event stream), made from a `DrillState`.

- `run`: identity, status (running, held, or how it ended), phase, the clock since the run
  start and since T0, step counts.
- `steps`: each step's status, who runs it, lateness against the plan (`planned_start` is
  the earliest start the `expect` durations allow, seconds after the run start), its
  confirmations and evidence.
- `systems`: each system's RTO clock against its target (`elapsed`, `remaining`), the
  projected RTO from `expect` and the remaining critical path (`verdicts/projection.py`),
  `predicted_breach` as soon as the projection exceeds the target, `breached` once it has.
- `deviations`: what departed from the plan so far, with a severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bcdrill.listeners.console.state import DrillState, StepView
from bcdrill.verdicts.projection import StepProgress, SystemProjection, project_steps, project_systems

DISABLED = "condition is false"
LATE_FACTOR = 1.5
LATE_MIN_SECONDS = 10.0


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def team_members(state: DrillState) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for person in state.snapshot.get("participants") or ():
        if isinstance(person, Mapping) and person.get("team") and person.get("name"):
            members.setdefault(str(person["team"]), []).append(str(person["name"]))
    return members


def step_json(view: StepView, members: Mapping[str, list[str]], now_t: float) -> dict[str, Any]:
    lateness = None
    if view.started_t is not None and view.planned_start is not None:
        lateness = view.started_t - view.planned_start
    overrun = None
    if view.status in ("running", "waiting") and view.attempt_t is not None and view.expect:
        overrun = max(0.0, now_t - view.attempt_t - view.expect)
    return {
        "id": view.id,
        "title": view.title,
        "team": view.team,
        "phase": view.phase,
        "kind": view.kind,
        "systems": list(view.systems),
        "status": view.status,
        "attempt": view.attempt,
        "prompt": view.prompt,
        "started_ts": view.started_ts,
        "ended_ts": view.ended_ts,
        "started_t": _r(view.started_t),
        "attempt_t": _r(view.attempt_t),
        "ended_t": _r(view.ended_t),
        "duration": view.duration,
        "expect": view.expect,
        "planned_start": _r(view.planned_start),
        "planned_end": _r(view.planned_end),
        "lateness": _r(lateness),
        "overrun": _r(overrun),
        "detail": view.detail,
        "waived": view.waived,
        "rollback": view.rollback,
        "on_failure": view.on_failure,
        "runs_by": members.get(view.team or "", []) if view.team else [],
        "acks": view.acks,
        "evidence": view.evidence,
    }


def _progress(state: DrillState) -> dict[str, StepProgress]:
    out = {}
    for sid in state.order:
        v = state.steps[sid]
        ok: bool | None = None
        if v.ended:
            ignored = v.status in ("failed", "timeout") and v.on_failure == "ignore"
            disabled = v.status == "skipped" and v.detail == DISABLED
            ok = v.status == "ok" or v.waived or ignored or disabled
        out[sid] = StepProgress(v.needs, v.expect or 0.0, v.attempt_t, v.ended_t, ok)
    return out


def systems_json(state: DrillState, now_t: float) -> list[dict[str, Any]]:
    progress = _progress(state)
    ends = project_steps(state.order, progress, now_t)
    projections = project_systems(state.recovers, progress, ends)
    t0 = state.t0
    if t0 is None:
        t0 = ends.get(state.declaring) if state.declaring else 0.0
    out = []
    for sid, spec in (state.snapshot.get("systems") or {}).items():
        out.append(_system(state, str(sid), spec, t0, now_t, projections.get(str(sid))))
    return out


def _system(
    state: DrillState,
    sid: str,
    spec: Mapping[str, Any],
    t0: float | None,
    now_t: float,
    proj: SystemProjection | None,
) -> dict[str, Any]:
    target = spec.get("rto")
    rec = state.recovered.get(sid)
    rto = float(rec["rto"]) if rec and rec.get("rto") is not None else None
    elapsed = now_t - state.t0 if state.t0 is not None and rto is None else None
    projected = None
    if rto is None and proj is not None and proj.projected_t is not None and t0 is not None:
        projected = max(0.0, proj.projected_t - t0)
    if target is None:
        breached = False
    elif rto is not None:
        breached = rto > target
    else:  # still running past its target, or the run ended without recovering it
        breached = (elapsed or 0.0) > target or not state.running
    rpo = state.rpo.get(sid)
    return {
        "id": sid,
        "title": spec.get("title") or sid,
        "tier": spec.get("tier"),
        "rto_target": target,
        "rpo_target": spec.get("rpo"),
        "recovered": rto is not None,
        "rto_achieved": _r(rto),
        "rto_met": None if target is None or rto is None else rto <= target,
        "elapsed": _r(elapsed),
        "remaining": _r(target - elapsed) if target is not None and elapsed is not None else None,
        "projected_rto": _r(projected),
        "predicted_breach": target is not None
        and projected is not None
        and projected > target
        and not breached,
        "breached": breached,
        "recoverable": rto is not None or projected is not None,
        "critical_path": list(proj.path) if proj is not None and rto is None else [],
        "recovered_by": state.recovers.get(sid),
        "rpo_achieved": _r(float(rpo["rpo"])) if rpo and rpo.get("rpo") is not None else None,
    }


def _step_deviation(v: StepView) -> tuple[str, str, str] | None:
    """(kind, severity, detail) of a step that departed from the plan, or None."""
    if v.status in ("failed", "timeout"):
        severity = {"abort": "high", "continue": "medium"}.get(v.on_failure, "low")
        not_tested = bool(v.acks) and v.acks[-1].get("result") == "not_tested"
        return ("not_tested" if not_tested else v.status), severity, v.detail or ""
    if v.status in ("cancelled", "interrupted"):
        return v.status, "medium", v.detail or ""
    if v.status == "skipped":
        if v.detail == DISABLED:
            return "skipped_when", "low", v.detail
        return ("skipped_by_commander" if v.waived else "skipped"), "medium", v.detail or ""
    if v.attempt > 1:
        return "retried", "low", f"{v.attempt} attempts"
    if v.status == "ok" and v.expect and v.duration is not None:
        late = v.duration > v.expect * LATE_FACTOR and v.duration - v.expect >= LATE_MIN_SECONDS
        if late:
            return "late", "low", f"took {v.duration:.0f}s, expected {v.expect:.0f}s"
    return None


def deviations_json(state: DrillState, systems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in systems:
        if s["breached"]:
            out.append(_dev(s["id"], s["title"], "rto_breached", "high", ""))
        elif s["predicted_breach"]:
            detail = f"projected RTO {s['projected_rto']:.0f}s > target {s['rto_target']:.0f}s"
            out.append(_dev(s["id"], s["title"], "rto_breach_predicted", "high", detail))
    for sid in [*state.order, *(v.id for v in state.steps.values() if v.rollback)]:
        v = state.steps[sid]
        found = _step_deviation(v)
        if found is not None:
            out.append(_dev(v.id, v.title, *found))
    for a in state.actions:
        who = f"{a.get('by')}" + (f" ({a.get('role')})" if a.get("role") else "")
        out.append(
            _dev(a.get("step") or "", who, f"commander_{a.get('action')}", "low", a.get("reason") or "")
        )
    return out


def _dev(ref: str, title: str, kind: str, severity: str, detail: str) -> dict[str, Any]:
    return {"ref": ref, "title": title, "kind": kind, "severity": severity, "detail": detail}


def run_json(state: DrillState, now_t: float) -> dict[str, Any]:
    snap, started = state.snapshot, state.started
    counts: dict[str, int] = {}
    for v in state.steps.values():
        if not v.rollback or v.status != "pending":
            counts[v.status] = counts.get(v.status, 0) + 1
    teams = {k: (v or {}).get("title") or k for k, v in (snap.get("teams") or {}).items()}
    return {
        "id": started.get("run_id"),
        "scenario": started.get("scenario"),
        "title": snap.get("title") or started.get("scenario"),
        "environment": started.get("environment"),
        "type": snap.get("type"),
        "timezone": snap.get("timezone"),
        "dry_run": bool(started.get("dry_run")),
        "status": "held" if state.held_by and state.running else state.status,
        "finished": not state.running,
        "exit_code": state.exit_code,
        "held_by": state.held_by,
        "phase": state.phase,
        "started_ts": started.get("ts"),
        "t0_ts": state.t0_ts,
        "t0_t": state.t0,
        "now_t": _r(now_t),
        "since_t0": _r(now_t - state.t0) if state.t0 is not None else None,
        "seq": state.seq,
        "last_ts": state.last_ts,
        "counts": counts,
        "teams": teams,
        "notes": state.notes,
    }


def header_json(state: DrillState, now_t: float) -> dict[str, Any]:
    """Everything but the steps: small, sent with every update."""
    systems = systems_json(state, now_t)
    return {
        "run": run_json(state, now_t),
        "systems": systems,
        "deviations": deviations_json(state, systems),
        "actions": state.actions,
        "evidence": state.evidence,
    }


def state_json(state: DrillState, now_t: float) -> dict[str, Any]:
    members = team_members(state)
    body = header_json(state, now_t)
    shown = (v for v in state.steps.values() if not v.rollback or v.status != "pending")
    body["steps"] = [step_json(v, members, now_t) for v in shown]
    return body
