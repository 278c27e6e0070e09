"""Deviations from the plan, with a severity, and the planned schedule they are measured against.

Severity rule (shown in the report, documented in docs/report.md):
- high:   the drill aborted, ran its rollback, or its runner stopped without a trace (killed);
          a step with `on_failure: abort` failed or timed out; an RTO target missed or not achieved;
          an RPO target missed.
- medium: the drill was interrupted or resumed, or processes of a stopped runner still ran;
          a step with `on_failure: continue` failed or timed out; a step cancelled, interrupted,
          or skipped / never run while the scenario wanted it; an RPO target left unmeasured.
- low:    a failure with `on_failure: ignore`; a step that needed retries; a late step (took more
          than 1.5 × its `expect` and at least 10 s more); a step skipped by its `when` condition;
          a drill commander's decision in the web console; notifications not delivered.
A step with several deviations is listed once, with the highest severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bcdrill.record.events import FAILED_STATUSES, Record, first_run_started
from bcdrill.record.snapshot import StepSpec
from bcdrill.verdicts.history import History
from bcdrill.verdicts.rto import Evaluation
from bcdrill.verdicts.timeline import StepRun

LATE_FACTOR = 1.5
LATE_MIN_SECONDS = 10.0
SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class Deviation:
    ref: str  # step id or system id
    title: str
    kinds: tuple[str, ...]  # label keys: d_failed, d_retried, d_late, ...
    severity: str
    detail: str
    log: str | None = None
    attempts: int = 0


def step_specs(events: list[Record]) -> dict[str, StepSpec]:
    """The scenario's steps (and rollback steps) from the run.started snapshot, by id."""
    start = first_run_started(events)
    snap = (start.get("snapshot") if start else None) or {}
    return {s["id"]: s for s in [*(snap.get("steps") or []), *(snap.get("rollback") or [])]}


def planned_schedule(specs: Mapping[str, StepSpec]) -> dict[str, tuple[float, float]]:
    """(planned start, planned end) of every main step, seconds after the run start: each step
    starts when its `needs` have ended and lasts its `expect` (0 when it has none)."""
    plan: dict[str, tuple[float, float]] = {}

    def visit(sid: str, path: frozenset[str]) -> float:
        if sid in plan:
            return plan[sid][1]
        spec = specs.get(sid)
        if spec is None or sid in path:  # unknown or a cycle (the loader refuses both)
            return 0.0
        begin = max((visit(n, path | {sid}) for n in spec.get("needs") or ()), default=0.0)
        plan[sid] = (begin, begin + float(spec.get("expect") or 0.0))
        return plan[sid][1]

    for sid, spec in specs.items():
        if not spec.get("rollback"):
            visit(sid, frozenset())
    return plan


def is_late(run: StepRun, expect: float | None) -> bool:
    if not expect or run.duration is None or run.status != "ok":
        return False
    return run.duration > expect * LATE_FACTOR and run.duration - expect >= LATE_MIN_SECONDS


def _step_kinds(run: StepRun, spec: StepSpec, finished: bool) -> list[tuple[str, str]]:
    """(kind, severity) of everything that departed from the plan in one step."""
    found: list[tuple[str, str]] = []
    on_failure = spec.get("on_failure") or "abort"
    if run.status in ("failed", "timeout"):
        sev = {"abort": "high", "continue": "medium"}.get(on_failure, "low")
        found.append(("d_" + run.status + ("_ignored" if on_failure == "ignore" else ""), sev))
    elif run.status in FAILED_STATUSES:
        found.append(("d_" + str(run.status), "medium"))
    elif run.status == "skipped":
        planned_skip = spec.get("enabled") is False
        found.append(("d_skipped_when" if planned_skip else "d_skipped", "low" if planned_skip else "medium"))
    elif run.status is None and finished and not run.rollback:
        found.append(("d_not_run", "medium"))
    if len(run.attempts) > 1:
        found.append(("d_retried", "low"))
    if is_late(run, spec.get("expect")):
        found.append(("d_late", "low"))
    return found


def _worst(severities: list[str]) -> str:
    return min(severities, key=SEVERITIES.index)


def step_deviations(runs: list[StepRun], specs: Mapping[str, StepSpec], *, finished: bool) -> list[Deviation]:
    out = []
    for run in runs:
        spec = specs.get(run.id) or StepSpec(id=run.id)
        found = _step_kinds(run, spec, finished)
        if not found:
            continue
        detail = "\n".join(filter(None, (run.history, run.detail)))
        kinds = tuple(kind for kind, _ in found)
        out.append(
            Deviation(
                run.id, run.title, kinds, _worst([s for _, s in found]), detail, run.log, len(run.attempts)
            )
        )
    return out


def target_deviations(evaluation: Evaluation) -> list[Deviation]:
    """RTO/RPO targets missed, not achieved or unmeasured, one row per system."""
    out = []
    for s in evaluation.systems.values():
        found: list[tuple[str, str]] = []
        if s.rto_status == "not-achieved":
            found.append(("d_rto_not_achieved", "high"))
        elif s.rto_status == "missed":
            found.append(("d_rto_missed", "high"))
        if s.rpo_status == "missed":
            found.append(("d_rpo_missed", "high"))
        elif s.rpo_status == "unmeasured":
            found.append(("d_rpo_unmeasured", "medium"))
        if found:
            kinds = tuple(k for k, _ in found)
            out.append(Deviation(s.id, s.title, kinds, _worst([sev for _, sev in found]), ""))
    return out


_RUN_KINDS = {  # episode -> (deviation label, severity)
    "aborted": ("d_run_aborted", "high"),
    "rollback": ("d_run_rollback", "high"),
    "crashed": ("d_run_crashed", "high"),
    "interrupted": ("d_run_interrupted", "medium"),
    "orphans": ("d_run_orphans", "medium"),
    "resumed": ("d_run_resumed", "medium"),
    "commander": ("d_run_commander", "low"),
    "notify": ("d_notify_failed", "low"),
}


def run_deviations(history: History) -> list[Deviation]:
    """One row per run-level episode: the drill itself departed from the plan."""
    out = []
    for e in history.episodes:
        kind, severity = _RUN_KINDS[e.kind]
        detail = "; ".join(f"{k}: {_text(v)}" for k, v in e.detail.items())
        out.append(Deviation("run", e.ts, (kind,), severity, detail))
    return out


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_text(v) for v in value) if value else "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def all_deviations(
    runs: list[StepRun],
    specs: Mapping[str, StepSpec],
    evaluation: Evaluation,
    *,
    finished: bool,
    history: History | None = None,
) -> list[Deviation]:
    """Target deviations then step deviations, each sorted by severity (stable)."""
    found = target_deviations(evaluation) + step_deviations(runs, specs, finished=finished)
    if history is not None:
        found = run_deviations(history) + found
    return sorted(found, key=lambda d: SEVERITIES.index(d.severity))
