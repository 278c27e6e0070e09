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
                   rollback (bool), polls (number of `until` polls, when polled), survivors (list of
                   {pid, cmd}: processes the step left running when it ended ok, e.g. `nohup server &`),
                   waived (true: a commander skipped the step in the console; its dependents go on)
step.orphans       step, attempt, found (list of {pid, cmd}), waited (seconds), ended (pids that ended
                   while `drill resume` waited), killed (pids it killed): processes of an attempt a
                   killed runner left running, handled by `drill resume` before anything else
manual.acknowledged  step, by, result (pass|fail|not_tested), note, via (terminal|ack-file|console|auto|
                   mark-done), given_ts (ack files: when `drill ack` was typed or the console used),
                   role, client (console: the participant's role and client address), evidence (list of
                   SHA-256 of evidence files given with it)
commander.action   action (hold|continue|skip|retry|mark_done), step (or null), by, role, reason, via
                   (console), client, given_ts: a drill commander's decision taken in the console
evidence.added     step, file (relative to the run directory), name (as uploaded), sha256, size, by,
                   role, client, via, given_ts: an evidence file uploaded in the console
ansible.task       step, host, task, status, start, end, duration (Ansible's own times), play, action
clock.declared     step (or null when the run start is T0), t0 (`t` value), t0_ts
system.recovered   system, step, rto (seconds since T0)
system.rpo         system, step, rpo (seconds), data_timestamp (UTC ISO-8601)
note               kind (finding|action|observation|evaluation), text, owner, due, by, id
run.interrupted    reason, in_flight (list of step ids)
run.resumed        user, host, argv, rerun (list), mark_done (list of {step, by}), dropped_partial_line,
                   auto_ack, interactive, dry_run (the options of this resume)
run.finished       status (complete|failed|aborted|interrupted), exit_code
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Final, Literal, TypedDict, cast, get_args

from bcdrill.scenario.model import Scenario, Step

RUN_STARTED: Final = "run.started"
STEP_STARTED: Final = "step.started"
STEP_FINISHED: Final = "step.finished"
MANUAL_ACK: Final = "manual.acknowledged"
ANSIBLE_TASK: Final = "ansible.task"
CLOCK_DECLARED: Final = "clock.declared"
SYSTEM_RECOVERED: Final = "system.recovered"
SYSTEM_RPO: Final = "system.rpo"
NOTE: Final = "note"
RUN_INTERRUPTED: Final = "run.interrupted"
RUN_RESUMED: Final = "run.resumed"
RUN_FINISHED: Final = "run.finished"
STEP_ORPHANS: Final = "step.orphans"
COMMANDER_ACTION: Final = "commander.action"
EVIDENCE_ADDED: Final = "evidence.added"

StepStatus = Literal["ok", "failed", "timeout", "skipped", "cancelled", "interrupted"]
STEP_STATUSES: tuple[StepStatus, ...] = get_args(StepStatus)
FAILED_STATUSES: frozenset[StepStatus] = frozenset({"failed", "timeout", "cancelled", "interrupted"})
RUN_ENDS: frozenset[str] = frozenset({RUN_FINISHED, RUN_INTERRUPTED, RUN_RESUMED})
"""Events after which no step of the run before them is still running."""
NOTE_KINDS = ("finding", "action", "observation", "evaluation")


# ---- one TypedDict per event: the envelope keys, `event` as a literal, then the payload ------------
# Required keys are those every writer has always written; the others may be absent in journals
# written by earlier versions (readers use .get for them).


class _Envelope(TypedDict):
    seq: int
    ts: str
    t: float
    prev: str
    hash: str


class _RunStarted(_Envelope):
    event: Literal["run.started"]
    scenario: str


class RunStarted(_RunStarted, total=False):
    scenario_sha256: str
    tool_version: str
    host: str
    user: str
    argv: list[str]
    environment: str
    dry_run: bool
    run_id: str
    run_dir: str
    auto_ack: bool
    interactive: bool
    scenario_path: str
    vars: dict[str, str]
    inventory: str | None
    parallel: int
    snapshot: dict[str, Any]


class _StepStarted(_Envelope):
    event: Literal["step.started"]
    step: str
    attempt: int


class StepStarted(_StepStarted, total=False):
    kind: str
    action: dict[str, Any]
    rollback: bool


class _StepFinished(_Envelope):
    event: Literal["step.finished"]
    step: str
    attempt: int
    status: StepStatus


class StepFinished(_StepFinished, total=False):
    duration: float | None
    exit_code: int | None
    detail: str
    log: str | None
    log_sha256: str | None
    started_t: float
    final: bool
    rollback: bool
    polls: int
    survivors: list[dict[str, Any]]
    waived: bool


class _ManualAcknowledged(_Envelope):
    event: Literal["manual.acknowledged"]
    step: str
    by: str
    result: str


class ManualAcknowledged(_ManualAcknowledged, total=False):
    note: str | None
    via: str
    given_ts: str
    role: str | None
    client: str | None
    evidence: list[str]


class _CommanderAction(_Envelope):
    event: Literal["commander.action"]
    action: str
    by: str


class CommanderAction(_CommanderAction, total=False):
    step: str | None
    role: str | None
    reason: str | None
    via: str
    client: str | None
    given_ts: str


class _EvidenceAdded(_Envelope):
    event: Literal["evidence.added"]
    step: str
    file: str
    sha256: str


class EvidenceAdded(_EvidenceAdded, total=False):
    name: str
    size: int
    by: str
    role: str | None
    client: str | None
    via: str
    given_ts: str


class _AnsibleTask(_Envelope):
    event: Literal["ansible.task"]
    step: str
    host: str
    task: str
    status: str


class AnsibleTask(_AnsibleTask, total=False):
    start: str | None
    end: str | None
    duration: float | None
    play: str | None
    action: str | None


class _ClockDeclared(_Envelope):
    event: Literal["clock.declared"]
    t0: float


class ClockDeclared(_ClockDeclared, total=False):
    step: str | None
    t0_ts: str


class _SystemRecovered(_Envelope):
    event: Literal["system.recovered"]
    system: str
    rto: float


class SystemRecovered(_SystemRecovered, total=False):
    step: str


class _SystemRpo(_Envelope):
    event: Literal["system.rpo"]
    system: str
    rpo: float


class SystemRpo(_SystemRpo, total=False):
    step: str
    data_timestamp: str


class _Note(_Envelope):
    event: Literal["note"]
    text: str


class Note(_Note, total=False):
    kind: str
    owner: str | None
    due: str | None
    by: str | None
    id: str | None
    closes: str | None


class RunInterrupted(_Envelope, total=False):
    event: Literal["run.interrupted"]
    reason: str
    in_flight: list[str]


class RunResumed(_Envelope, total=False):
    event: Literal["run.resumed"]
    user: str
    host: str
    argv: list[str]
    rerun: list[str]
    mark_done: list[dict[str, Any]]
    dropped_partial_line: dict[str, Any] | None
    auto_ack: bool
    interactive: bool
    dry_run: bool


class _StepOrphans(_Envelope):
    event: Literal["step.orphans"]
    step: str
    attempt: int


class StepOrphans(_StepOrphans, total=False):
    found: list[dict[str, Any]]
    waited: float
    ended: list[int]
    killed: list[int]


class _RunFinished(_Envelope):
    event: Literal["run.finished"]
    status: str
    exit_code: int


class RunFinished(_RunFinished):
    pass


Record = (
    RunStarted
    | StepStarted
    | StepFinished
    | ManualAcknowledged
    | AnsibleTask
    | ClockDeclared
    | SystemRecovered
    | SystemRpo
    | Note
    | RunInterrupted
    | RunResumed
    | RunFinished
    | StepOrphans
    | CommanderAction
    | EvidenceAdded
)
"""A journal line as read back: narrow it by `record["event"]` to reach its fields."""

TYPES: dict[str, type[Any]] = {
    RUN_STARTED: RunStarted,
    STEP_STARTED: StepStarted,
    STEP_FINISHED: StepFinished,
    MANUAL_ACK: ManualAcknowledged,
    ANSIBLE_TASK: AnsibleTask,
    CLOCK_DECLARED: ClockDeclared,
    SYSTEM_RECOVERED: SystemRecovered,
    SYSTEM_RPO: SystemRpo,
    NOTE: Note,
    RUN_INTERRUPTED: RunInterrupted,
    RUN_RESUMED: RunResumed,
    RUN_FINISHED: RunFinished,
    STEP_ORPHANS: StepOrphans,
    COMMANDER_ACTION: CommanderAction,
    EVIDENCE_ADDED: EvidenceAdded,
}
REQUIRED: dict[str, frozenset[str]] = {name: frozenset(cls.__required_keys__) for name, cls in TYPES.items()}


def first_run_started(records: Iterable[Record]) -> RunStarted | None:
    """The run.started record (the journal's first line), or None."""
    for record in records:
        if record["event"] == RUN_STARTED:
            return record
    return None


def decode(record: dict[str, Any]) -> Record:
    """The typed record of one parsed journal line, after checking that a known event carries the
    keys its type requires (ValueError names the missing ones). Events this version does not know
    (written by a later one) pass through with their envelope; readers skip what they don't know."""
    event = record.get("event")
    required = REQUIRED.get(event) if isinstance(event, str) else None
    if required is not None:
        missing = required - record.keys()
        if missing:
            raise ValueError(f"{event} line without {', '.join(sorted(missing))}")
    return cast(Record, record)


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
