"""The report's view model: every value a template shows, already formatted (strings or None).

Templates only lay values out; formatting, translation and verdicts live here, so the
Markdown and HTML reports say the same thing and golden files stay deterministic. The
sections follow CONTEXT.md's audit checklist (identity … annexes and integrity).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from bcdrill.record.events import NOTE, Record, first_run_started
from bcdrill.record.snapshot import Snapshot, StepSpec, TeamSpec
from bcdrill.render import actions, annex, sections
from bcdrill.render.clock import Clock, dur, margin, utc_text
from bcdrill.render.deviations import Deviation, all_deviations, planned_schedule, step_specs
from bcdrill.render.i18n import labels
from bcdrill.render.phrases import localize
from bcdrill.verdicts.fold import Folded, folded
from bcdrill.verdicts.history import History
from bcdrill.verdicts.rto import Evaluation, SystemResult, evaluate
from bcdrill.verdicts.summary import build_summary
from bcdrill.verdicts.timeline import Ack, RunningStatus, StepRun

DETAIL_MAX = 200  # characters of a step's detail shown in the step table (deviations show it all)

Events = list[Record]


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


def _status_label(status: RunningStatus | None, L: Mapping[str, str]) -> str:
    key = "s_" + (status or "not_run")
    return L.get(key, status or "")


def _step_row(
    run: StepRun,
    clock: Clock,
    L: Mapping[str, str],
    plan: tuple[float, float] | None,
    teams: Mapping[str, TeamSpec],
) -> dict[str, Any]:
    detail = localize(run.detail, L["lang"])
    plan = plan if plan and plan[1] > plan[0] else None  # a step without `expect` has no plan
    return {
        "id": run.id,
        "title": run.title,
        "phase": run.phase,
        "team": run.team,
        "team_title": sections.team_title(teams, run.team),
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


AUTO_ACKERS = ("auto", "auto (dry run)")


def is_auto_ack(ack: Ack) -> bool:
    """Acknowledged by `--auto-ack` or a dry run, not by a person."""
    return ack.via == "auto" or (ack.by or "").strip().lower() in AUTO_ACKERS


def _ack_counts(runs: list[StepRun], L: Mapping[str, str]) -> dict[str, Any]:
    acks = [a for run in runs for a in run.acks]
    auto = sum(1 for a in acks if is_auto_ack(a))
    return {
        "people": len(acks) - auto,
        "auto": auto,
        "text": L["acks_count"].format(people=len(acks) - auto, auto=auto),
        "banner": L["auto_ack_banner"].format(n=auto) if auto else None,
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
            "via": L.get("via_" + (ack.via or ""), ack.via or "") + (f" ({ack.role})" if ack.role else ""),
            "evidence": [e[:12] for e in ack.evidence],
            "auto": is_auto_ack(ack),
        }
        for run in runs
        for ack in run.acks
    ]


def _note_rows(
    events: Events, clock: Clock, kinds: tuple[str, ...], *, closing: bool | None = False
) -> list[dict[str, Any]]:
    """Notes of `kinds`; `closing`: only those that close an action (True), only those that do
    not (False), or both (None). `signed` is `by, when` without a dangling comma."""
    rows = []
    for ev in events:
        if ev["event"] != NOTE or (kinds and ev.get("kind") not in kinds):
            continue
        if closing is not None and bool(ev.get("closes")) != closing:
            continue
        by, when = ev.get("by"), clock.full(ev["ts"])
        rows.append(
            {
                "text": ev.get("text"),
                "by": by,
                "when": when,
                "signed": ", ".join(str(x) for x in (by, when) if x),
                "closes": ev.get("closes"),
            }
        )
    return rows


def _status_text(status: str, history: History, L: Mapping[str, str]) -> str:
    """`complete after 2 resume(s) (aborted 1×, ...)`: a stopped and resumed run never reads as untroubled."""
    text = L.get("r_" + status, status)
    if history.resumes:
        text += " " + L["after_resumes"].format(n=history.resumes)
    counts = [
        f"{L['ep_' + k]} {history.count(k)}×"
        for k in ("aborted", "interrupted", "crashed")
        if history.count(k)
    ]
    return text + (f" ({', '.join(counts)})" if counts else "")


def _run_events(history: History, clock: Clock, L: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "when": clock.full(e.ts),
            "what": L["ep_" + e.kind],
            "kind": e.kind,
            "detail": "; ".join(f"{k}: {_plain(v)}" for k, v in e.detail.items()),
        }
        for e in history.episodes
    ]


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_plain(v) for v in value) if value else "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _deviation_row(
    d: Deviation,
    L: Mapping[str, str],
    expect: float | None,
    detail: str | None = None,
    when: Callable[[str | None], str | None] | None = None,
) -> dict[str, Any]:
    what = ", ".join(L[k] for k in d.kinds)
    if "d_late" in d.kinds and expect:
        what += f" ({L['expect']} {dur(expect)})"
    return {
        "ref": d.ref,
        "title": f"{L['run_level']} ({when(d.title)})" if d.ref == "run" and when else d.title,
        "what": what,
        "severity": L["sev_" + d.severity],
        "severity_class": d.severity,
        "attempts": d.attempts,
        "detail": detail if detail is not None else localize(d.detail, L["lang"]),
        "log": d.log,
    }


def _step_outcome(run: StepRun | None, L: Mapping[str, str]) -> str:
    """`failed: no SMTP banner` — a step's final status and detail (its title is shown by the caller)."""
    if run is None:
        return L["s_not_run"]
    text = _status_label(run.status, L)
    if len(run.attempts) > 1:
        text += f" ({L['attempts']} {len(run.attempts)})"
    detail = localize((run.detail or "").strip(), L["lang"])
    return f"{text}: {detail}" if detail else text


def target_detail(
    s: SystemResult,
    L: Mapping[str, str],
    clock: Clock,
    runs: Mapping[str, StepRun],
    steps: list[StepSpec],
) -> str:
    """Achieved vs target and the measuring / recovering step, for a system's target deviations."""
    lines = []

    def title(sid: str | None) -> str:
        run = runs.get(sid or "")
        return f"{run.title} [{sid}]" if run and run.title != sid else str(sid)

    if s.rto_status == "missed":
        over = dur(-s.rto_margin) if s.rto_margin is not None else None
        lines.append(
            f"RTO {L['achieved_vs_target']}: {dur(s.rto_achieved)} / {dur(s.rto_target)}"
            + (f" ({L['over_by']} {over})" if over else "")
            + f"; {L['recovered_by']}: {title(s.recovered_by)} @ {clock.full(s.recovered_ts)}"
        )
    elif s.rto_status == "not-achieved":
        recovering = [str(st["id"]) for st in steps if s.id in (st.get("recovers") or ())]
        lines.append(f"RTO {L['target_word']} {dur(s.rto_target) or '—'}: {L['not_recovered']}")
        for sid in recovering:
            lines.append(f"{L['recovering_step']}: {title(sid)} — {_step_outcome(runs.get(sid), L)}")
        if not recovering:
            lines.append(L["no_recovering_step"])
    if s.rpo_status in ("missed", "unmeasured"):
        measuring = (
            [s.rpo_by] if s.rpo_by else [str(st["id"]) for st in steps if s.id in (st.get("rpo_of") or ())]
        )
        if s.rpo_status == "missed":
            over = dur(-s.rpo_margin) if s.rpo_margin is not None else None
            lines.append(
                f"RPO {L['achieved_vs_target']}: {dur(s.rpo_achieved)} / {dur(s.rpo_target)}"
                + (f" ({L['over_by']} {over})" if over else "")
                + (f"; {L['data_timestamp']}: {clock.full(s.data_timestamp)}" if s.data_timestamp else "")
            )
        else:
            lines.append(f"RPO {L['target_word']} {dur(s.rpo_target) or '—'}: {L['v_unmeasured']}")
        for sid in measuring:
            lines.append(f"{L['rpo_measured_by']}: {title(sid)} — {_step_outcome(runs.get(sid), L)}")
        if not measuring:
            lines.append(L["no_measuring_step"])
    return "\n".join(lines)


def _verdict_line(verdict: str, all_ok: bool, L: Mapping[str, str]) -> str:
    """The sentence under the verdict: never 'all met' under a 'not met' verdict (a run that ended well
    only after an abort, a crash or a rollback says so)."""
    if not all_ok:
        return L["not_all_met"]
    return L["met_after_trouble"] if verdict == "not_met" else L["all_met"]


def _evaluation(
    events: Events,
    evaluation: Evaluation,
    devs: list[Deviation],
    summary: Mapping[str, Any],
    clock: Clock,
    L: Mapping[str, str],
    auto_acks: int,
    all_ok: bool,
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
        "verdict_text": L["verdict_" + verdict] + (L["verdict_auto_suffix"] if auto_acks else ""),
        "verdict_line": _verdict_line(verdict, all_ok, L),
        "rto_met": f"{sum(1 for s in with_rto if s.rto_met)} / {len(with_rto)}",
        "rpo_met": f"{sum(1 for s in with_rpo if s.rpo_met)} / {len(with_rpo)}",
        "steps_ok": f"{steps.get('ok', 0)} / {sum(steps.values())}",
        "deviations": f"{counts['high']} / {counts['medium']} / {counts['low']}",
        "opinions": _note_rows(events, clock, ("evaluation",), closing=None),
        "hotwash": _note_rows(events, clock, ("observation",)),
    }


def table_order(runs: list[StepRun], snap: Snapshot) -> list[StepRun]:
    """The timeline table's rows: main steps grouped by phase (phases in the order the scenario
    first names them), each phase's steps in scenario order; rollback steps last, in scenario order."""
    specs = [*(snap.get("steps") or []), *(snap.get("rollback") or [])]
    position = {str(s["id"]): i for i, s in enumerate(specs)}
    phase_rank: dict[str | None, int] = {}
    for spec in snap.get("steps") or []:
        phase_rank.setdefault(spec.get("phase"), len(phase_rank))
    for run in runs:  # steps the snapshot does not know (an old journal): after the known ones
        if not run.rollback:
            phase_rank.setdefault(run.phase, len(phase_rank))
    unknown = len(position)

    def key(item: tuple[int, StepRun]) -> tuple[int, int, int, int]:
        i, run = item
        if run.rollback:
            return (1, 0, position.get(run.id, unknown), i)
        return (0, phase_rank[run.phase], position.get(run.id, unknown), i)

    return [run for _, run in sorted(enumerate(runs), key=key)]


def scenario_order(evaluation: Evaluation, runs: list[StepRun]) -> Evaluation:
    """The systems in the order the scenario's steps first name them (the journal sorts keys)."""
    rank: dict[str, int] = {}
    for run in runs:
        for sid in run.systems:
            rank.setdefault(sid, len(rank))
    ordered = sorted(evaluation.systems, key=lambda sid: rank.get(sid, len(rank)))
    return replace(evaluation, systems={sid: evaluation.systems[sid] for sid in ordered})


def _reference_date(last: Record | None, clock: Clock) -> date | None:
    return clock.local(last["ts"]).date() if last and last.get("ts") else None


def _corrective(
    journal: Folded, previous: list[Events], clock: Clock, L: Mapping[str, str], run_dir: str
) -> dict[str, Any]:
    events = journal.records
    items = actions.collect_items(events, _reference_date(journal.last, clock))
    return {
        "findings": actions.item_rows([i for i in items if i.kind == "finding"], clock, L),
        "actions": actions.item_rows([i for i in items if i.kind == "action"], clock, L),
        "previous": actions.previous_actions(events, previous, clock, L),
        "trend": actions.trend(events, previous, clock) if previous else None,
        "closings": _note_rows(events, clock, (), closing=True),
        "add_command": f'drill note {run_dir} --kind action --text "…" --owner TEAM --due YYYY-MM-DD',
        "close_command": f'drill note {run_dir} --closes A-1 --text "…"',
    }


def build_view(
    events: Iterable[Record] | Folded,
    lang: str,
    *,
    evaluation: Evaluation | None = None,
    runs: list[StepRun] | None = None,
    run_dir: str | None = None,
    previous: list[Events] | None = None,
    with_gantt: bool = False,
    shown_dir: str | None = None,
    signature: annex.Shown = annex.FROM_FILE,
) -> dict[str, Any]:
    """Everything the Markdown and HTML templates show, for `lang` (en|zh). `previous`: the
    journals of earlier drills (for their corrective actions and the RTO/RPO trend). Files are read
    in `run_dir`; commands name `shown_dir` (default: `run_dir`); `signature`: the signature to show
    (default: RUN_DIR/journal.sig's)."""
    L = labels(lang)
    journal = folded(events)
    records = journal.records
    start: Mapping[str, Any] = first_run_started(records) or {}
    snap: Snapshot = start.get("snapshot") or Snapshot()
    runs = journal.runs if runs is None else runs
    evaluation = scenario_order(evaluation or evaluate(records), runs)
    summary = build_summary(journal, evaluation=evaluation, runs=runs)
    clock = Clock(snap.get("timezone"), summary["started"])
    specs = step_specs(records)
    plan = planned_schedule(specs)
    teams = snap.get("teams") or {}
    rows = [_step_row(run, clock, L, plan.get(run.id), teams) for run in table_order(runs, snap)]
    finished = summary["status"] != "running"
    history = journal.history
    devs = all_deviations(runs, specs, evaluation, finished=finished, history=history)
    ok = summary["status"] == "complete" and summary["exit_code"] in (0, None) and evaluation.all_met
    where = shown_dir or run_dir or "RUN_DIR"
    titles = {r.id: r.title for r in runs}
    by_id = {r.id: r for r in runs}
    scenario_steps = list(snap.get("steps") or [])
    ack_counts = _ack_counts(runs, L)
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
        "status": _status_text(summary["status"], history, L),
        "status_class": summary["status"],
        "exit_code": summary["exit_code"],
        "all_ok": ok,
        "scope": sections.scope(start, snap, runs, evaluation),
        "objectives": sections.objectives(snap, evaluation),
        "organisation": sections.organisation(snap, runs),
        "systems": [_system_row(s, clock, L, titles) for s in evaluation.systems.values()],
        "steps": rows,
        "acks": _ack_rows(runs, clock, L),
        "run_events": _run_events(history, clock, L),
        "deviations": [
            _deviation_row(
                d,
                L,
                (specs.get(d.ref) or StepSpec(id=d.ref)).get("expect"),
                target_detail(evaluation.systems[d.ref], L, clock, by_id, scenario_steps)
                if d.ref in evaluation.systems and any(k.startswith(("d_rto", "d_rpo")) for k in d.kinds)
                else None,
                clock.full,
            )
            for d in devs
        ],
        "resumes": history.resumes,
        "ack_counts": ack_counts,
        "evaluation": _evaluation(records, evaluation, devs, summary, clock, L, ack_counts["auto"], ok),
        "corrective": _corrective(journal, previous or [], clock, L, where),
        "signoffs": sections.signoffs(snap, L),
        "integrity": annex.integrity(
            journal, Path(run_dir) if run_dir else None, summary["journal_head"], where, signature
        ),
        "evidence": annex.evidence_files(records, clock.full),
        "journal_head": summary["journal_head"],
        "journal_lines": summary["journal_lines"],
        "journal_tail": summary["journal_tail"],
        "verify_command": f"drill verify {where}",
        "evaluation_command": f'drill note {where} --kind evaluation --text "…" --by NAME',
        "summary": summary,
        "gantt": None,
    }
    if with_gantt:
        from bcdrill.render.gantt import gantt

        view["gantt"] = gantt(runs, plan, evaluation, clock, L, gaps=history.gaps)
    return view
