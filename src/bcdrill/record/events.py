"""Journal event names and their payloads (DESIGN.md §7), plus the scenario snapshot.

Every journal line is `{seq, ts, t, event, <payload keys>, prev, hash}`. The
payload keys of each event are listed here; they are the contract reports,
metrics replays and `resume` rely on. Times inside payloads: `t`-style fields
are seconds since run start on the monotonic clock; `*_ts` fields are UTC
ISO-8601 strings with microseconds and `Z`.

run.started        scenario (name), scenario_sha256, tool_version, host, user, argv, environment, dry_run,
                   run_id, run_dir, auto_ack, interactive, scenario_path, vars (non-secret CLI --var
                   values), inventory, parallel, snapshot (see below)
step.started       step, attempt, kind, action (rendered, secrets masked), rollback (bool)
step.finished      step, attempt, status (ok|failed|timeout|skipped|cancelled|interrupted), duration
                   (seconds, monotonic), exit_code, detail, log (relative path or null), log_sha256,
                   started_t (the `t` of this attempt's start), final (bool: no further attempt follows),
                   rollback (bool), polls (number of `until` polls, when polled)
manual.acknowledged  step, by, result (pass|fail), note, via (terminal|ack-file|auto|mark-done),
                   given_ts (ack files: when `drill ack` was typed)
ansible.task       step, host, task, status, start, end, duration (Ansible's own times), play, action
clock.declared     step (or null when the run start is T0), t0 (`t` value), t0_ts
system.recovered   system, step, rto (seconds since T0)
system.rpo         system, step, rpo (seconds), data_timestamp (UTC ISO-8601)
note               kind (finding|action|observation|evaluation), text, owner, due, by, id
run.interrupted    reason, in_flight (list of step ids)
run.resumed        argv, rerun (list), mark_done (list of {step, by}), dropped_partial_line
run.finished       status (complete|failed|aborted|interrupted), exit_code
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bcdrill.scenario.model import Scenario, Step

RUN_STARTED = "run.started"
STEP_STARTED = "step.started"
STEP_FINISHED = "step.finished"
MANUAL_ACK = "manual.acknowledged"
ANSIBLE_TASK = "ansible.task"
CLOCK_DECLARED = "clock.declared"
SYSTEM_RECOVERED = "system.recovered"
SYSTEM_RPO = "system.rpo"
NOTE = "note"
RUN_INTERRUPTED = "run.interrupted"
RUN_RESUMED = "run.resumed"
RUN_FINISHED = "run.finished"

STEP_STATUSES = ("ok", "failed", "timeout", "skipped", "cancelled", "interrupted")
NOTE_KINDS = ("finding", "action", "observation", "evaluation")


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
