"""`drill plan`: the step graph, its critical path and each system's projected RTO.

The projection uses each step's `expect` (0 when a step has none; the plan says how many)
and assumes unlimited parallelism: every step starts as soon as the steps it needs end.
Disabled steps (`when` false) are shown as skipped and take no time. T0 is the projected
end of the `declares` step (the run's start if none); a system's projected RTO is the
projected end of its first `recovers` step minus T0, compared with its `rto` target.
"""

from __future__ import annotations

from dataclasses import dataclass

from bcdrill.common import dag
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
class PlannedChannel:
    """A chat channel of `notify:`: what it is and what it takes, never its URL or keys."""

    id: str
    platform: str
    teams: tuple[str, ...]  # empty: every team (no `teams:`)
    events: tuple[str, ...]
    per_minute: int


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
    channels: tuple[PlannedChannel, ...] = ()  # of `notify:`


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
        channels=channels_of(scn),
    )


def channels_of(scn: Scenario) -> tuple[PlannedChannel, ...]:
    """The scenario's notification channels, without anything secret."""
    if scn.notify is None:
        return ()
    return tuple(
        PlannedChannel(c.id, c.platform, tuple(c.teams), tuple(c.events), c.per_minute)
        for c in scn.notify.channels
    )
