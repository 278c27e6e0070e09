"""The scenario as `run.started` records it (`snapshot`): everything a report needs about the
scenario, so that reports read the journal alone."""

from __future__ import annotations

import dataclasses
from typing import Any

from bcdrill.scenario.model import Scenario, Step


def step_snapshot(step: Step, *, rollback: bool = False) -> dict[str, Any]:
    return {
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


def scenario_snapshot(scn: Scenario) -> dict[str, Any]:
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
        "teams": {k: dataclasses.asdict(v) for k, v in scn.teams.items()},
        "participants": [dataclasses.asdict(p) for p in scn.participants],
        "systems": {k: dataclasses.asdict(v) for k, v in scn.systems.items()},
        "steps": [step_snapshot(s) for s in scn.steps],
        "rollback": [step_snapshot(s, rollback=True) for s in scn.rollback],
    }
