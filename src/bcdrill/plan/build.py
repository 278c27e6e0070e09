"""`drill plan`: the step graph, its critical path and each system's projected RTO.

The projection uses each step's `expect` (0 when a step has none; the plan says how many)
and assumes unlimited parallelism: every step starts as soon as the steps it needs end.
Disabled steps (`when` false) are shown as skipped and take no time. T0 is the projected
end of the `declares` step (the run's start if none); a system's projected RTO is the
projected end of its first `recovers` step minus T0, compared with its `rto` target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bcdrill.common import dag
from bcdrill.common.duration import format_duration as fmt
from bcdrill.scenario.model import Scenario, Step

FORMATS = ("text", "json", "dot", "mermaid")


@dataclass(frozen=True)
class PlannedStep:
    id: str
    title: str | None
    phase: str | None
    team: str | None
    kind: str
    needs: tuple[str, ...]
    expect: float | None  # as written
    start: float  # projected, seconds from the run's start
    finish: float
    level: int  # 0 = needs nothing; steps of one level can run side by side
    critical: bool
    enabled: bool
    declares: bool
    recovers: tuple[str, ...]


@dataclass(frozen=True)
class PlannedSystem:
    id: str
    title: str
    tier: int | None
    rto_target: float | None
    projected_rto: float | None  # None: no enabled step recovers it
    recovered_by: str | None
    verdict: str  # within | breach | no-target | not-recovered
    margin: float | None  # target - projected (negative: predicted breach)


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    environment: str
    steps: tuple[PlannedStep, ...]
    critical_path: tuple[str, ...]
    length: float
    t0: float
    declared_by: str | None
    systems: tuple[PlannedSystem, ...]
    no_expect: tuple[str, ...]  # enabled steps without `expect` (counted as 0)
    width: int
    rollback: tuple[str, ...]


def _system(scn: Scenario, sid: str, by_id: dict[str, PlannedStep], t0: float) -> PlannedSystem:
    system = scn.systems[sid]
    finishers = [p for p in by_id.values() if sid in p.recovers and p.enabled]
    first = min(finishers, key=lambda p: p.finish, default=None)
    projected = None if first is None else first.finish - t0
    if projected is None:
        verdict, margin = "not-recovered", None
    elif system.rto is None:
        verdict, margin = "no-target", None
    else:
        margin = system.rto - projected
        verdict = "within" if margin >= 0 else "breach"
    return PlannedSystem(
        sid, system.title, system.tier, system.rto, projected, first.id if first else None, verdict, margin
    )


def _planned(step: Step, sched: dag.Schedule, depth: dict[str, int], critical: set[str]) -> PlannedStep:
    return PlannedStep(
        id=step.id,
        title=step.title,
        phase=step.phase,
        team=step.team,
        kind=step.kind,
        needs=step.needs,
        expect=step.expect,
        start=sched.start.get(step.id, 0.0),
        finish=sched.finish.get(step.id, 0.0),
        level=depth.get(step.id, 0),
        critical=step.id in critical,
        enabled=step.enabled,
        declares=step.declares,
        recovers=step.recovers,
    )


def build_plan(scn: Scenario) -> Plan:
    """The projected schedule of a validated scenario."""
    durations = {s.id: (s.expect or 0.0) if s.enabled else 0.0 for s in scn.steps}
    sched = dag.schedule(scn.steps, durations)
    depth = dag.levels(scn.steps)
    critical = set(sched.critical_path)
    steps = tuple(_planned(s, sched, depth, critical) for s in scn.steps)
    by_id = {p.id: p for p in steps}
    declaring = scn.declaring_step
    t0 = by_id[declaring.id].finish if declaring is not None else 0.0
    counts: dict[int, int] = {}
    for p in steps:
        counts[p.level] = counts.get(p.level, 0) + 1
    return Plan(
        name=scn.name,
        title=scn.title,
        environment=scn.environment,
        steps=steps,
        critical_path=tuple(sched.critical_path),
        length=sched.length,
        t0=t0,
        declared_by=declaring.id if declaring else None,
        systems=tuple(_system(scn, sid, by_id, t0) for sid in scn.systems),
        no_expect=tuple(s.id for s in scn.steps if s.enabled and s.expect is None),
        width=max(counts.values(), default=0),
        rollback=tuple(s.id for s in scn.rollback),
    )


def render_plan(plan: Plan, fmt_name: str = "text") -> str:
    """The plan as text, json, dot (Graphviz) or mermaid."""
    from bcdrill.plan import formats as plan_formats

    renderers: dict[str, Callable[[Plan], str]] = {
        "text": render_text,
        "json": plan_formats.render_json,
        "dot": plan_formats.render_dot,
        "mermaid": plan_formats.render_mermaid,
    }
    if fmt_name not in renderers:
        raise ValueError(f"unknown plan format {fmt_name!r} (one of: {', '.join(FORMATS)})")
    return renderers[fmt_name](plan)


def _at(seconds: float) -> str:
    return "+0s" if seconds == 0 else "+" + fmt(seconds)


VERDICTS = {
    "within": "within target",
    "breach": "BREACH predicted",
    "no-target": "no target",
    "not-recovered": "NOT RECOVERED (recovering step skipped)",
}


def _header(plan: Plan) -> list[str]:
    levels = max((p.level for p in plan.steps), default=-1) + 1
    lines = [
        f"Plan: {plan.name} — {plan.title} ({plan.environment})",
        f"{len(plan.steps)} steps in {levels} parallel groups, up to {plan.width} side by side; "
        f"projected length {fmt(plan.length)}",
    ]
    if plan.declared_by:
        lines.append(f"T0: end of '{plan.declared_by}' at {_at(plan.t0)}")
    else:
        lines.append("T0: the run's start (no step declares)")
    if plan.no_expect:
        shown = ", ".join(plan.no_expect[:10]) + (", ..." if len(plan.no_expect) > 10 else "")
        lines.append(f"Note: {len(plan.no_expect)} steps have no expect and count as 0s: {shown}")
    lines.append("Assumes unlimited parallelism and first-attempt success (no retries, no extra polling).")
    return lines


def _step_line(p: PlannedStep) -> str:
    mark = "*" if p.critical else " "
    phase = f" [{p.phase}]" if p.phase else ""
    label = f" — {p.title}" if p.title else ""
    if not p.enabled:
        return f"  {mark} {p.id} ({p.kind}){phase}{label}: SKIPPED (when is false)"
    expect = fmt(p.expect) if p.expect is not None else "no expect"
    extra = " declares T0" if p.declares else ""
    extra += f" recovers {', '.join(p.recovers)}" if p.recovers else ""
    span = f"{_at(p.start)} → {_at(p.finish)}"
    return f"  {mark} {p.id} ({p.kind}){phase}{label}: {span} ({expect}){extra}"


def _groups(plan: Plan) -> list[str]:
    by_level: dict[int, list[PlannedStep]] = {}
    for p in plan.steps:
        by_level.setdefault(p.level, []).append(p)
    lines = ["", "Parallel groups (* = on the critical path):"]
    for level in sorted(by_level):
        members = by_level[level]
        lines.append(f"Group {level + 1} — {len(members)} step(s), from {_at(min(p.start for p in members))}")
        lines.extend(_step_line(p) for p in members)
    return lines


def _phases(plan: Plan) -> list[str]:
    spans: dict[str, list[PlannedStep]] = {}
    for p in plan.steps:
        if p.phase:
            spans.setdefault(p.phase, []).append(p)
    if not spans:
        return []
    lines = ["", "Phases:"]
    for phase, members in spans.items():
        first, last = min(p.start for p in members), max(p.finish for p in members)
        lines.append(f"  {phase}: {_at(first)} → {_at(last)} ({len(members)} step(s))")
    return lines


def _systems(plan: Plan) -> list[str]:
    if not plan.systems:
        return []
    lines = ["", "Projected RTO per system (from T0):"]
    for s in plan.systems:
        margin = "" if s.margin is None else f", margin {fmt(s.margin)}"
        target = fmt(s.rto_target) if s.rto_target is not None else "-"
        lines.append(
            f"  {s.id} ({s.title}): projected {fmt(s.projected_rto)}, target {target} — "
            f"{VERDICTS[s.verdict]}{margin}"
        )
    return lines


def render_text(plan: Plan) -> str:
    path = " -> ".join(plan.critical_path) or "-"
    lines = [*_header(plan), *_phases(plan), *_groups(plan)]
    lines += ["", f"Critical path ({fmt(plan.length)}): {path}", *_systems(plan)]
    if plan.rollback:
        lines += ["", f"Rollback (in sequence, on abort): {' -> '.join(plan.rollback)}"]
    return "\n".join(lines) + "\n"
