"""The report's view model: every value a template shows, already formatted (strings or None).

Templates only lay values out; formatting, translation and verdicts live here, so the
Markdown and HTML reports say the same thing and golden files stay deterministic. The
sections follow CONTEXT.md's audit checklist (identity … annexes and integrity).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from bcdrill.render import actions, annex, sections
from bcdrill.render.clock import Clock, dur, margin, utc_text
from bcdrill.render.deviations import Deviation, all_deviations, planned_schedule, step_specs
from bcdrill.render.i18n import labels
from bcdrill.rto import Evaluation, SystemResult, evaluate
from bcdrill.summary import build_summary
from bcdrill.timeline import StepRun, step_runs

DETAIL_MAX = 200  # characters of a step's detail shown in the step table (deviations show it all)

Events = list[dict[str, Any]]


def _system_row(
    s: SystemResult, clock: Clock, L: Mapping[str, str], titles: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "tier": s.tier,
        "rto_target": dur(s.rto_target),
        "rto_achieved": dur(s.rto_achieved),
        "rto_margin": margin(s.rto_margin),
        "rto_verdict": L["v_" + s.rto_status],
        "rto_class": s.rto_status,
        "rpo_target": dur(s.rpo_target),
        "rpo_achieved": dur(s.rpo_achieved),
        "rpo_margin": margin(s.rpo_margin),
        "rpo_verdict": L["v_" + s.rpo_status],
        "rpo_class": s.rpo_status,
        "recovered_by": titles.get(s.recovered_by or "", s.recovered_by),
        "recovered_at": clock.full(s.recovered_ts),
        "rpo_by": titles.get(s.rpo_by or "", s.rpo_by),
        "data_timestamp": clock.full(s.data_timestamp) if s.data_timestamp else None,
    }


def _status_label(status: str | None, L: Mapping[str, str]) -> str:
    key = "s_" + (status or "not_run")
    return L.get(key, status or "")


def _step_row(
    run: StepRun,
    clock: Clock,
    L: Mapping[str, str],
    plan: tuple[float, float] | None,
    teams: Mapping[str, Any],
) -> dict[str, Any]:
    detail = run.detail or ""
    plan = plan if plan and plan[1] > plan[0] else None  # a step without `expect` has no plan
    return {
        "id": run.id,
        "title": run.title,
        "phase": run.phase,
        "team": run.team,
        "team_title": (teams.get(run.team or "") or {}).get("title") or run.team,
        "systems": ", ".join(run.systems),
        "plan_start": clock.at(plan[0]) if plan else None,
        "plan_end": clock.at(plan[1]) if plan else None,
        "start": clock.short(run.started_ts),
        "end": clock.short(run.finished_ts),
        "duration": dur(run.duration),
        "attempts": len(run.attempts),
        "status": _status_label(run.status, L),
        "status_class": run.status or "not_run",
        "detail": detail if len(detail) <= DETAIL_MAX else detail[: DETAIL_MAX - 1] + "…",
        "full_detail": detail,
        "verified_by": ", ".join(dict.fromkeys(a.by for a in run.acks if a.by)) or None,
        "log": run.log,
        "log_sha256": run.log_sha256,
        "rollback": run.rollback,
    }


def _ack_rows(runs: list[StepRun], clock: Clock, L: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "step": run.id,
            "title": run.title,
            "by": ack.by,
            "result": L.get("s_" + (ack.result or ""), ack.result or ""),
            "result_class": ack.result,
            "when": clock.full(ack.ts),
            "note": ack.note,
            "via": ack.via,
        }
        for run in runs
        for ack in run.acks
    ]


def _note_rows(events: Events, clock: Clock, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"text": ev.get("text"), "by": ev.get("by"), "when": clock.full(ev["ts"]), "closes": ev.get("closes")}
        for ev in events
        if ev.get("event") == "note" and ev.get("kind") in kinds
    ]


def _deviation_row(d: Deviation, L: Mapping[str, str], expect: float | None) -> dict[str, Any]:
    what = ", ".join(L[k] for k in d.kinds)
    if "d_late" in d.kinds and expect:
        what += f" ({L['expect']} {dur(expect)})"
    return {
        "ref": d.ref,
        "title": d.title,
        "what": what,
        "severity": L["sev_" + d.severity],
        "severity_class": d.severity,
        "attempts": d.attempts,
        "detail": d.detail,
        "log": d.log,
    }


def _evaluation(
    events: Events, evaluation: Evaluation, devs: list[Deviation], summary: Mapping[str, Any], clock: Clock
) -> dict[str, Any]:
    counts = {sev: sum(1 for d in devs if d.severity == sev) for sev in ("high", "medium", "low")}
    if counts["high"] or summary["status"] != "complete":
        verdict = "not_met"
    elif devs:
        verdict = "deviations"
    else:
        verdict = "met"
    systems = list(evaluation.systems.values())
    with_rto = [s for s in systems if s.rto_target is not None]
    with_rpo = [s for s in systems if s.rpo_target is not None]
    steps = summary["steps"]
    return {
        "verdict": verdict,
        "rto_met": f"{sum(1 for s in with_rto if s.rto_met)} / {len(with_rto)}",
        "rpo_met": f"{sum(1 for s in with_rpo if s.rpo_met)} / {len(with_rpo)}",
        "steps_ok": f"{steps.get('ok', 0)} / {sum(steps.values())}",
        "deviations": f"{counts['high']} / {counts['medium']} / {counts['low']}",
        "opinions": _note_rows(events, clock, ("evaluation",)),
        "hotwash": _note_rows(events, clock, ("observation",)),
    }


def scenario_order(evaluation: Evaluation, runs: list[StepRun]) -> Evaluation:
    """The systems in the order the scenario's steps first name them (the journal sorts keys)."""
    rank: dict[str, int] = {}
    for run in runs:
        for sid in run.systems:
            rank.setdefault(sid, len(rank))
    ordered = sorted(evaluation.systems, key=lambda sid: rank.get(sid, len(rank)))
    return replace(evaluation, systems={sid: evaluation.systems[sid] for sid in ordered})


def _reference_date(events: Events, clock: Clock) -> date | None:
    return clock.local(events[-1]["ts"]).date() if events and events[-1].get("ts") else None


def _corrective(
    events: Events, previous: list[Events], clock: Clock, L: Mapping[str, str], run_dir: str
) -> dict[str, Any]:
    items = actions.collect_items(events, _reference_date(events, clock))
    return {
        "findings": actions.item_rows([i for i in items if i.kind == "finding"], clock, L),
        "actions": actions.item_rows([i for i in items if i.kind == "action"], clock, L),
        "previous": actions.previous_actions(events, previous, clock, L),
        "trend": actions.trend(events, previous, clock) if previous else None,
        "add_command": f'drill note {run_dir} --kind action --text "…" --owner TEAM --due YYYY-MM-DD',
        "close_command": f'drill note {run_dir} --closes A-1 --text "…"',
    }


def build_view(
    events: Events,
    lang: str,
    *,
    evaluation: Evaluation | None = None,
    runs: list[StepRun] | None = None,
    run_dir: str | None = None,
    previous: list[Events] | None = None,
    with_gantt: bool = False,
) -> dict[str, Any]:
    """Everything the Markdown and HTML templates show, for `lang` (en|zh). `previous`: the
    journals of earlier drills (for their corrective actions and the RTO/RPO trend)."""
    L = labels(lang)
    start = next((ev for ev in events if ev.get("event") == "run.started"), {})
    snap = start.get("snapshot") or {}
    runs = step_runs(events) if runs is None else runs
    evaluation = scenario_order(evaluation or evaluate(events), runs)
    summary = build_summary(events, evaluation=evaluation, runs=runs)
    clock = Clock(snap.get("timezone"), summary["started"])
    specs = step_specs(events)
    plan = planned_schedule(specs)
    teams = snap.get("teams") or {}
    rows = [_step_row(run, clock, L, plan.get(run.id), teams) for run in runs]
    finished = summary["status"] != "running"
    devs = all_deviations(runs, specs, evaluation, finished=finished)
    ok = summary["status"] == "complete" and summary["exit_code"] in (0, None) and evaluation.all_met
    where = run_dir or "RUN_DIR"
    titles = {r.id: r.title for r in runs}
    view: dict[str, Any] = {
        "L": L,
        "lang": lang,
        "id": sections.identity(start, snap, summary),
        "tz": clock.header(),
        "started": clock.full(summary["started"]),
        "started_utc": utc_text(summary["started"]),
        "finished": clock.full(summary["finished"]),
        "finished_utc": utc_text(summary["finished"]),
        "t0": clock.full(evaluation.t0_ts),
        "t0_utc": utc_text(evaluation.t0_ts),
        "t0_step": evaluation.t0_step,
        "t0_step_title": titles.get(evaluation.t0_step or "", evaluation.t0_step),
        "status": L.get("r_" + summary["status"], summary["status"]),
        "status_class": summary["status"],
        "exit_code": summary["exit_code"],
        "all_ok": ok,
        "scope": sections.scope(start, snap, runs, evaluation),
        "objectives": sections.objectives(snap, evaluation),
        "organisation": sections.organisation(snap, runs),
        "systems": [_system_row(s, clock, L, titles) for s in evaluation.systems.values()],
        "steps": rows,
        "acks": _ack_rows(runs, clock, L),
        "deviations": [_deviation_row(d, L, (specs.get(d.ref) or {}).get("expect")) for d in devs],
        "evaluation": _evaluation(events, evaluation, devs, summary, clock),
        "corrective": _corrective(events, previous or [], clock, L, where),
        "signoffs": sections.signoffs(snap, L),
        "integrity": annex.integrity(events, Path(run_dir) if run_dir else None, summary["journal_head"]),
        "journal_head": summary["journal_head"],
        "journal_lines": summary["journal_lines"],
        "verify_command": f"drill verify {where}",
        "evaluation_command": f'drill note {where} --kind evaluation --text "…" --by NAME',
        "summary": summary,
        "gantt": None,
    }
    if with_gantt:
        from bcdrill.render.gantt import gantt

        view["gantt"] = gantt(runs, plan, evaluation, clock, L)
    return view
