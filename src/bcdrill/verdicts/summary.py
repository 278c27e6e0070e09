"""summary.json (DESIGN.md §7): a pure function of the journal.

Contract keys: scenario, run_id, status, dry_run, started, finished, t0, journal_head,
systems {ID: {rto_target, rto_achieved, rto_met, rpo_target, rpo_achieved, rpo_met}},
steps {ok, failed, timeout, skipped, cancelled, interrupted}. Added compatibly: title,
environment, type, exit_code, t0_step, journal_lines, and per system rto_margin, rpo_margin,
rpo_status, rto_status; `steps.not_run` counts steps that never ran; `rollback` counts the
rollback steps that ran. Durations are seconds; null where not achieved/unmeasured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bcdrill.record.events import (
    RUN_FINISHED,
    RUN_INTERRUPTED,
    RUN_RESUMED,
    STEP_STATUSES,
    Record,
    first_run_started,
)
from bcdrill.verdicts.fold import Folded, folded
from bcdrill.verdicts.history import history_json
from bcdrill.verdicts.rto import Evaluation, SystemResult, evaluate
from bcdrill.verdicts.timeline import StepRun


def run_status(events: Sequence[Record]) -> tuple[str, int | None, str | None]:
    """(status, exit_code, finished ts) from the last run-level event: run.finished gives its
    status; a later run.interrupted gives `interrupted`, a later run.resumed `running`."""
    status: str = "running"
    exit_code: int | None = None
    finished: str | None = None
    for ev in events:
        if ev["event"] == RUN_FINISHED:
            status, exit_code, finished = ev["status"] or "finished", ev["exit_code"], ev["ts"]
        elif ev["event"] == RUN_INTERRUPTED:
            status, exit_code, finished = "interrupted", None, None
        elif ev["event"] == RUN_RESUMED:
            status, exit_code, finished = "running", None, None
    return status, exit_code, finished


def journal_head(events: Sequence[Record]) -> str | None:
    """The hash of the last run.finished line (None while the run has not finished)."""
    return next((ev["hash"] for ev in reversed(events) if ev["event"] == RUN_FINISHED), None)


def step_counts(runs: list[StepRun]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(STEP_STATUSES, 0)
    counts["not_run"] = 0
    for run in runs:
        key = run.status if run.status in counts else "not_run" if run.status is None else "interrupted"
        counts[key] += 1
    return counts


def system_entry(s: SystemResult) -> dict[str, Any]:
    return {
        "title": s.title,
        "tier": s.tier,
        "rto_target": s.rto_target,
        "rto_achieved": s.rto_achieved,
        "rto_met": s.rto_met,
        "rto_margin": s.rto_margin,
        "rto_status": s.rto_status,
        "rpo_target": s.rpo_target,
        "rpo_achieved": s.rpo_achieved,
        "rpo_met": s.rpo_met,
        "rpo_margin": s.rpo_margin,
        "rpo_status": s.rpo_status,
    }


def build_summary(
    events: Iterable[Record] | Folded,
    *,
    evaluation: Evaluation | None = None,
    runs: list[StepRun] | None = None,
) -> dict[str, Any]:
    """The summary.json object of a run (`events`: its records, or them folded). `evaluation`/`runs`
    may be passed to avoid recomputing."""
    journal = folded(events)
    records = journal.records
    ev0: Mapping[str, Any] = first_run_started(records) or {}
    snapshot = ev0.get("snapshot") or {}
    evaluation = evaluation or evaluate(records)
    runs = journal.runs if runs is None else runs
    status, exit_code, finished = run_status(records)
    rollback = [r for r in runs if r.rollback]
    summary: dict[str, Any] = {
        "scenario": ev0.get("scenario") or snapshot.get("name"),
        "title": snapshot.get("title"),
        "run_id": ev0.get("run_id"),
        "status": status,
        "exit_code": exit_code,
        "dry_run": bool(ev0.get("dry_run")),
        "environment": ev0.get("environment") or snapshot.get("environment"),
        "type": snapshot.get("type"),
        "started": ev0.get("ts"),
        "finished": finished,
        "t0": evaluation.t0_ts,
        "t0_step": evaluation.t0_step,
        "journal_head": journal_head(records),
        "journal_lines": journal.lines,
        "journal_tail": journal.last.get("hash") if journal.last else None,  # last line when written
        "systems": {sid: system_entry(s) for sid, s in evaluation.systems.items()},
        "steps": step_counts([r for r in runs if not r.rollback]),
    }
    if rollback:
        summary["rollback"] = step_counts(rollback)
    history = journal.history
    summary["status_detail"] = history.status_detail(status)  # `complete after 2 resumes (aborted 1×)`
    summary["resumes"] = history.resumes
    summary["history"] = history_json(history)
    return summary
