"""The scenario as `run.started` records it (`snapshot`): everything a report needs about the
scenario, so that reports read the journal alone.

The snapshot's keys are part of the journal's contract (docs/journal.md). Keys may be absent in
journals written by earlier versions, so every key but a step's or a system's `id` is optional to
readers (`spec.get("needs") or ()`).
"""

from __future__ import annotations

from typing import TypedDict

from bcdrill.scenario.model import OnFailure, Participant, Scenario, Step, System, Team


class _Identified(TypedDict):
    id: str


class StepSpec(_Identified, total=False):
    """A step (or rollback step) as planned."""

    title: str | None
    phase: str | None
    team: str | None
    kind: str
    systems: list[str]
    needs: list[str]
    expect: float | None
    timeout: float | None
    retries: int
    on_failure: OnFailure
    when: str | None
    enabled: bool
    idempotent: bool
    dry_run: str  # only "skip" is recorded
    declares: bool
    recovers: list[str]
    rpo_of: list[str]
    prompt: str | None
    rollback: bool
    source: str


class SystemSpec(_Identified, total=False):
    """A system with its recovery targets (seconds)."""

    title: str
    tier: int | None
    rto: float | None
    rpo: float | None
    description: str | None
    production_site: str | None
    dr_site: str | None


class TeamSpec(_Identified, total=False):
    title: str


class ParticipantSpec(TypedDict, total=False):
    name: str
    team: str | None
    role: str | None


class Snapshot(TypedDict, total=False):
    """The scenario, as `run.started` records it."""

    name: str
    title: str
    type: str
    environment: str
    timezone: str
    owner: str | None
    description: str | None
    planned: bool
    references: list[str]
    exclusions: list[str]
    teams: dict[str, TeamSpec]
    participants: list[ParticipantSpec]
    systems: dict[str, SystemSpec]
    steps: list[StepSpec]
    rollback: list[StepSpec]


def step_snapshot(step: Step, *, rollback: bool = False) -> StepSpec:
    spec: StepSpec = {
        "id": step.id,
        "title": step.title,
        "phase": step.phase,
        "team": step.team,
        "kind": step.kind,
        "systems": list(step.systems),
        "needs": list(step.needs),
        "expect": step.expect,
        "timeout": step.timeout,
        "retries": step.retries,
        "on_failure": step.on_failure,
        "when": step.when,
        "enabled": step.enabled,
        "idempotent": step.idempotent,
        "declares": step.declares,
        "recovers": list(step.recovers),
        "rpo_of": list(step.rpo_of),
        "prompt": step.action.prompt if step.action.kind == "manual" else None,
        "rollback": rollback,
        "source": str(step.pos),
    }
    if step.dry_run == "skip":  # recorded only when set: older journals and reports stay as they were
        spec["dry_run"] = "skip"
    return spec


def _system(s: System) -> SystemSpec:
    return {
        "id": s.id,
        "title": s.title,
        "tier": s.tier,
        "rto": s.rto,
        "rpo": s.rpo,
        "description": s.description,
        "production_site": s.production_site,
        "dr_site": s.dr_site,
    }


def _team(t: Team) -> TeamSpec:
    return {"id": t.id, "title": t.title}


def _participant(p: Participant) -> ParticipantSpec:
    return {"name": p.name, "team": p.team, "role": p.role}


def systems_snapshot(scn: Scenario) -> dict[str, SystemSpec]:
    """The scenario's systems as the snapshot records them."""
    return {k: _system(v) for k, v in scn.systems.items()}


def scenario_snapshot(scn: Scenario) -> Snapshot:
    """Everything a report needs about the scenario, so reports read the journal alone."""
    return {
        "name": scn.name,
        "title": scn.title,
        "type": scn.type,
        "environment": scn.environment,
        "timezone": scn.timezone,
        "owner": scn.owner,
        "description": scn.description,
        "planned": scn.planned,
        "references": list(scn.references),
        "exclusions": list(scn.exclusions),
        "teams": {k: _team(v) for k, v in scn.teams.items()},
        "participants": [_participant(p) for p in scn.participants],
        "systems": systems_snapshot(scn),
        "steps": [step_snapshot(s) for s in scn.steps],
        "rollback": [step_snapshot(s, rollback=True) for s in scn.rollback],
    }
