"""The report's view model: every value a template shows, already formatted (strings or None).

Templates only lay values out; formatting, translation and verdicts live here, so the
Markdown and HTML reports say the same thing and golden files stay deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bcdrill.duration import format_duration
from bcdrill.journal import parse_ts
from bcdrill.render.i18n import labels
from bcdrill.rto import Evaluation, SystemResult, evaluate
from bcdrill.summary import build_summary
from bcdrill.timeline import StepRun, step_runs

DETAIL_MAX = 200  # characters of a step's detail shown in the step table (deviations show it all)


class Clock:
    """Formats journal UTC timestamps in the scenario's timezone, with the UTC offset."""

    def __init__(self, tz_name: str | None, started: str | None) -> None:
        try:
            self.tz: timezone | ZoneInfo = ZoneInfo(tz_name) if tz_name else timezone.utc
        except (ZoneInfoNotFoundError, ValueError):
            self.tz = timezone.utc
        self.name = tz_name or "UTC"
        self.start = self.local(started) if started else None
        self.day = self.start.date() if self.start else None

    def local(self, ts: str) -> datetime:
        return parse_ts(ts).astimezone(self.tz)

    def full(self, ts: str | None) -> str | None:
        """`2026-05-01 08:30:00 +08:00` (seconds; the journal keeps microseconds)."""
        if not ts:
            return None
        when = self.local(ts)
        return when.strftime("%Y-%m-%d %H:%M:%S ") + _offset(when.utcoffset())

    def short(self, ts: str | None) -> str | None:
        """`08:30:05`, with `MM-DD ` in front on a day other than the run's first."""
        if not ts:
            return None
        when = self.local(ts)
        return when.strftime("%H:%M:%S" if when.date() == self.day else "%m-%d %H:%M:%S")

    def header(self) -> str:
        """`Asia/Shanghai (UTC+08:00)`, the offset at the run's start."""
        ref = self.start or datetime.now(timezone.utc).astimezone(self.tz)
        return f"{self.name} (UTC{_offset(ref.utcoffset())})"


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def utc_text(ts: str | None) -> str | None:
    return f"{ts[:10]} {ts[11:19]}Z" if ts else None


def _dur(seconds: float | None) -> str | None:
    return None if seconds is None else format_duration(seconds)


def _margin(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return ("+" if seconds >= 0 else "") + format_duration(seconds)


def _system_row(s: SystemResult, clock: Clock, L: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "tier": s.tier,
        "rto_target": _dur(s.rto_target),
        "rto_achieved": _dur(s.rto_achieved),
        "rto_margin": _margin(s.rto_margin),
        "rto_verdict": L["v_" + s.rto_status],
        "rto_class": s.rto_status,
        "rpo_target": _dur(s.rpo_target),
        "rpo_achieved": _dur(s.rpo_achieved),
        "rpo_margin": _margin(s.rpo_margin),
        "rpo_verdict": L["v_" + s.rpo_status],
        "rpo_class": s.rpo_status,
        "recovered_by": s.recovered_by,
        "data_timestamp": clock.full(s.data_timestamp) if s.data_timestamp else None,
    }


def _status_label(status: str | None, L: Mapping[str, str]) -> str:
    key = "s_" + (status or "not_run")
    return L.get(key, status or "")


def _step_row(run: StepRun, clock: Clock, L: Mapping[str, str]) -> dict[str, Any]:
    detail = run.detail or ""
    return {
        "id": run.id,
        "title": run.title,
        "phase": run.phase,
        "team": run.team,
        "systems": ", ".join(run.systems),
        "start": clock.short(run.started_ts),
        "end": clock.short(run.finished_ts),
        "duration": _dur(run.duration),
        "attempts": len(run.attempts),
        "status": _status_label(run.status, L),
        "status_class": run.status or "not_run",
        "detail": detail if len(detail) <= DETAIL_MAX else detail[: DETAIL_MAX - 1] + "…",
        "full_detail": detail,
        "log": run.log,
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


def _note_rows(events: list[dict[str, Any]], clock: Clock, L: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "kind": L[ev["kind"]] if ev.get("kind") else None,
            "text": ev.get("text"),
            "owner": ev.get("owner"),
            "due": ev.get("due"),
            "by": ev.get("by"),
            "when": clock.full(ev["ts"]),
        }
        for ev in events
        if ev.get("event") == "note"
    ]


def _deviation_rows(
    rows: list[dict[str, Any]], runs: list[StepRun], L: Mapping[str, str]
) -> list[dict[str, Any]]:
    out = []
    for row, run in zip(rows, runs, strict=False):
        if run.deviation:
            status = row["status"] + (f" ({L['retried']})" if len(run.attempts) > 1 else "")
            detail = "\n".join(filter(None, (run.history, run.detail)))
            out.append({**row, "status": status, "full_detail": detail})
    return out


def _identity(
    start: Mapping[str, Any], snap: Mapping[str, Any], summary: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "scenario": summary["scenario"],
        "title": snap.get("title") or summary["scenario"],
        "run_id": summary["run_id"],
        "type": snap.get("type"),
        "planned": snap.get("planned"),
        "environment": summary["environment"],
        "dry_run": summary["dry_run"],
        "tool_version": start.get("tool_version"),
        "scenario_sha256": start.get("scenario_sha256"),
        "host": start.get("host"),
        "user": start.get("user"),
        "references": list(snap.get("references") or []),
    }


def build_view(
    events: list[dict[str, Any]],
    lang: str,
    *,
    evaluation: Evaluation | None = None,
    runs: list[StepRun] | None = None,
    run_dir: str | None = None,
) -> dict[str, Any]:
    """Everything the Markdown and HTML templates show, for `lang` (en|zh)."""
    L = labels(lang)
    start = next((ev for ev in events if ev.get("event") == "run.started"), {})
    snap = start.get("snapshot") or {}
    evaluation = evaluation or evaluate(events)
    runs = step_runs(events) if runs is None else runs
    summary = build_summary(events, evaluation=evaluation, runs=runs)
    clock = Clock(snap.get("timezone"), summary["started"])
    rows = [_step_row(run, clock, L) for run in runs]
    ok = summary["status"] == "complete" and summary["exit_code"] in (0, None) and evaluation.all_met
    return {
        "L": L,
        "lang": lang,
        "id": _identity(start, snap, summary),
        "tz": clock.header(),
        "started": clock.full(summary["started"]),
        "started_utc": utc_text(summary["started"]),
        "finished": clock.full(summary["finished"]),
        "finished_utc": utc_text(summary["finished"]),
        "t0": clock.full(evaluation.t0_ts),
        "t0_utc": utc_text(evaluation.t0_ts),
        "t0_step": evaluation.t0_step,
        "status": L.get("r_" + summary["status"], summary["status"]),
        "status_class": summary["status"],
        "exit_code": summary["exit_code"],
        "all_ok": ok,
        "systems": [_system_row(s, clock, L) for s in evaluation.systems.values()],
        "steps": rows,
        "acks": _ack_rows(runs, clock, L),
        "deviations": _deviation_rows(rows, runs, L),
        "notes": _note_rows(events, clock, L),
        "journal_head": summary["journal_head"],
        "journal_lines": summary["journal_lines"],
        "verify_command": f"drill verify {run_dir or 'RUN_DIR'}",
        "summary": summary,
    }
