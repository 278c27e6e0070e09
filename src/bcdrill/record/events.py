"""Journal event names and their payloads (DESIGN.md §7): the typed records and their one codec.

Every journal line is `{seq, ts, t, event, <payload keys>, prev, hash}`. The
payload keys of each event are listed here; they are the contract reports,
metrics replays and `resume` rely on. Times inside payloads: `t`-style fields
are seconds since run start on the monotonic clock; `*_ts` fields are UTC
ISO-8601 strings with microseconds and `Z`.

run.started        scenario (name), scenario_sha256, tool_version, host, user, argv, environment, dry_run,
                   run_id, run_dir, auto_ack, interactive, scenario_path, vars (non-secret CLI --var
                   values), inventory, parallel, snapshot (record/snapshot.py)
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
ansible.task       step, host, task, status, start, end, duration (Ansible's own times), play, action,
                   item (loop items only), ignored (a failure with ignore_errors only),
                   awx_job (the AWX job the result comes from; `awx` steps only)
awx.job            step, job (id), type (job|workflow_job), template, template_id, job_type (run|check),
                   url (the job's API address): the job an `awx` step launched on the controller
clock.declared     step (or null when the run start is T0), t0 (`t` value), t0_ts
system.recovered   system, step, rto (seconds since T0)
system.rpo         system, step, rpo (seconds), data_timestamp (UTC ISO-8601)
note               kind (finding|action|observation|evaluation), text, owner, due, by, id
run.interrupted    reason, in_flight (list of step ids)
run.resumed        user, host, argv, rerun (list), mark_done (list of {step, by}), dropped_partial_line,
                   auto_ack, interactive, dry_run (the options of this resume)
run.finished       status (complete|failed|aborted|interrupted), exit_code
notify.failed      channel (id, or null: the notifier's queue was full), platform, messages (how many
                   were not delivered), kinds (their kinds: started, waiting, ...), status (HTTP status
                   or null), error (masked), dropped (true: never sent — not within the flush bound
                   after the run, or too many waiting): a chat notification that could not be sent
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, NamedTuple, TypedDict, Unpack, cast, get_args

from bcdrill.record.snapshot import Snapshot

RUN_STARTED: Final = "run.started"
STEP_STARTED: Final = "step.started"
STEP_FINISHED: Final = "step.finished"
MANUAL_ACK: Final = "manual.acknowledged"
ANSIBLE_TASK: Final = "ansible.task"
AWX_JOB: Final = "awx.job"
CLOCK_DECLARED: Final = "clock.declared"
SYSTEM_RECOVERED: Final = "system.recovered"
SYSTEM_RPO: Final = "system.rpo"
NOTE: Final = "note"
RUN_INTERRUPTED: Final = "run.interrupted"
RUN_RESUMED: Final = "run.resumed"
RUN_FINISHED: Final = "run.finished"
STEP_ORPHANS: Final = "step.orphans"
COMMANDER_ACTION: Final = "commander.action"
NOTIFY_FAILED: Final = "notify.failed"
EVIDENCE_ADDED: Final = "evidence.added"

StepStatus = Literal["ok", "failed", "timeout", "skipped", "cancelled", "interrupted"]
STEP_STATUSES: tuple[StepStatus, ...] = get_args(StepStatus)
FAILED_STATUSES: frozenset[StepStatus] = frozenset({"failed", "timeout", "cancelled", "interrupted"})
RUN_ENDS: frozenset[str] = frozenset({RUN_FINISHED, RUN_INTERRUPTED, RUN_RESUMED})
"""Events after which no step of the run before them is still running."""
NOTE_KINDS = ("finding", "action", "observation", "evaluation")


# ---- one TypedDict per event's payload, and per record: the envelope, `event` as a literal, the payload
# Required keys are those every writer has always written; the others may be absent in journals
# written by earlier versions (readers use .get for them). Writers build a payload through the
# constructors below (`step_finished(step=..., ...)`), so mypy checks each key and its type; the
# keys are written in the order given.


class _Envelope(TypedDict):
    seq: int
    ts: str
    t: float
    prev: str
    hash: str


class _RunStartedPayload(TypedDict):
    scenario: str


class RunStartedPayload(_RunStartedPayload, total=False):
    scenario_sha256: str
    scenario_path: str
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
    vars: dict[str, str]
    inventory: str | None
    parallel: int
    snapshot: Snapshot


class RunStarted(_Envelope, RunStartedPayload):
    event: Literal["run.started"]


class _StepStartedPayload(TypedDict):
    step: str
    attempt: int


class StepStartedPayload(_StepStartedPayload, total=False):
    kind: str
    action: dict[str, Any]
    rollback: bool


class StepStarted(_Envelope, StepStartedPayload):
    event: Literal["step.started"]


class Process(TypedDict):
    """A process a step left running (`survivors`) or a killed runner left behind (`found`)."""

    pid: int
    cmd: str


class _StepFinishedPayload(TypedDict):
    step: str
    attempt: int
    status: StepStatus


class StepFinishedPayload(_StepFinishedPayload, total=False):
    duration: float | None
    exit_code: int | None
    detail: str
    log: str | None
    log_sha256: str | None
    started_t: float
    final: bool
    rollback: bool
    polls: int
    survivors: list[Process]
    waived: bool


class StepFinished(_Envelope, StepFinishedPayload):
    event: Literal["step.finished"]


class _ManualAcknowledgedPayload(TypedDict):
    step: str
    by: str
    result: str


class ManualAcknowledgedPayload(_ManualAcknowledgedPayload, total=False):
    note: str | None
    via: str
    given_ts: str
    role: str | None
    client: str | None
    evidence: list[str]


class ManualAcknowledged(_Envelope, ManualAcknowledgedPayload):
    event: Literal["manual.acknowledged"]


# commander.action and evidence.added copy what a console request file holds: a value the file
# lacks is journaled as null.
class _CommanderActionPayload(TypedDict):
    action: str
    by: str


class CommanderActionPayload(_CommanderActionPayload, total=False):
    step: str | None
    role: str | None
    reason: str | None
    via: str | None
    client: str | None
    given_ts: str | None


class CommanderAction(_Envelope, CommanderActionPayload):
    event: Literal["commander.action"]


class _EvidenceAddedPayload(TypedDict):
    step: str | None
    file: str | None
    sha256: str | None


class EvidenceAddedPayload(_EvidenceAddedPayload, total=False):
    name: str | None
    size: int | None
    by: str
    role: str | None
    client: str | None
    via: str | None
    given_ts: str | None


class EvidenceAdded(_Envelope, EvidenceAddedPayload):
    event: Literal["evidence.added"]


class _AnsibleTaskPayload(TypedDict):
    step: str
    host: str | None
    task: str | None
    status: str


class AnsibleTaskPayload(_AnsibleTaskPayload, total=False):
    start: str | None
    end: str | None
    duration: float | None
    play: str | None
    action: str | None
    item: str  # loop items: the item's label
    ignored: bool  # a failure with ignore_errors
    awx_job: int  # awx steps: the AWX job the result comes from


class AnsibleTask(_Envelope, AnsibleTaskPayload):
    event: Literal["ansible.task"]


class _AwxJobPayload(TypedDict):
    step: str
    job: int
    type: str  # job | workflow_job


class AwxJobPayload(_AwxJobPayload, total=False):
    template: str | None
    template_id: int | None
    job_type: str  # run | check
    url: str


class AwxJob(_Envelope, AwxJobPayload):
    event: Literal["awx.job"]


class _ClockDeclaredPayload(TypedDict):
    t0: float


class ClockDeclaredPayload(_ClockDeclaredPayload, total=False):
    step: str | None
    t0_ts: str


class ClockDeclared(_Envelope, ClockDeclaredPayload):
    event: Literal["clock.declared"]


class _SystemRecoveredPayload(TypedDict):
    system: str
    rto: float


class SystemRecoveredPayload(_SystemRecoveredPayload, total=False):
    step: str


class SystemRecovered(_Envelope, SystemRecoveredPayload):
    event: Literal["system.recovered"]


class _SystemRpoPayload(TypedDict):
    system: str
    rpo: float


class SystemRpoPayload(_SystemRpoPayload, total=False):
    step: str
    data_timestamp: str


class SystemRpo(_Envelope, SystemRpoPayload):
    event: Literal["system.rpo"]


class _NotePayload(TypedDict):
    text: str


class NotePayload(_NotePayload, total=False):
    kind: str
    owner: str | None
    due: str | None
    by: str | None
    id: str | None
    closes: str | None


class Note(_Envelope, NotePayload):
    event: Literal["note"]


class RunInterruptedPayload(TypedDict, total=False):
    reason: str
    in_flight: list[str]


class RunInterrupted(_Envelope, RunInterruptedPayload):
    event: Literal["run.interrupted"]


class RunResumedPayload(TypedDict, total=False):
    user: str
    host: str
    argv: list[str]
    auto_ack: bool
    interactive: bool
    dry_run: bool
    rerun: list[str]
    mark_done: list[dict[str, Any]]
    dropped_partial_line: dict[str, Any] | None


class RunResumed(_Envelope, RunResumedPayload):
    event: Literal["run.resumed"]


class _StepOrphansPayload(TypedDict):
    step: str
    attempt: int


class StepOrphansPayload(_StepOrphansPayload, total=False):
    found: list[Process]
    waited: float
    ended: list[int]
    killed: list[int]


class StepOrphans(_Envelope, StepOrphansPayload):
    event: Literal["step.orphans"]


class RunFinishedPayload(TypedDict):
    status: str
    exit_code: int


class RunFinished(_Envelope, RunFinishedPayload):
    event: Literal["run.finished"]


class _NotifyFailedPayload(TypedDict):
    channel: str | None
    error: str


class NotifyFailedPayload(_NotifyFailedPayload, total=False):
    platform: str | None
    messages: int
    kinds: list[str]
    status: int | None
    dropped: bool  # true: never sent (the flush bound after the run, or too many waiting)


class NotifyFailed(_Envelope, NotifyFailedPayload):
    event: Literal["notify.failed"]


Record = (
    RunStarted
    | StepStarted
    | StepFinished
    | ManualAcknowledged
    | AnsibleTask
    | AwxJob
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
    | NotifyFailed
)
"""A journal line as read back: narrow it by `record["event"]` to reach its fields."""

TYPES: dict[str, type[Any]] = {
    RUN_STARTED: RunStarted,
    STEP_STARTED: StepStarted,
    STEP_FINISHED: StepFinished,
    MANUAL_ACK: ManualAcknowledged,
    ANSIBLE_TASK: AnsibleTask,
    AWX_JOB: AwxJob,
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
    NOTIFY_FAILED: NotifyFailed,
}
REQUIRED: dict[str, frozenset[str]] = {name: frozenset(cls.__required_keys__) for name, cls in TYPES.items()}


# ---- the writers' side: one constructor per event ------------------------------------------------


class Entry(NamedTuple):
    """One line to append (`Journal.write`, `Session.emit`): the event's name and its payload, whose
    keys are written in the order they were given."""

    event: str
    payload: Mapping[str, object]


def run_started(**payload: Unpack[RunStartedPayload]) -> Entry:
    return Entry(RUN_STARTED, payload)


def step_started(**payload: Unpack[StepStartedPayload]) -> Entry:
    return Entry(STEP_STARTED, payload)


def step_finished(**payload: Unpack[StepFinishedPayload]) -> Entry:
    return Entry(STEP_FINISHED, payload)


def manual_acknowledged(**payload: Unpack[ManualAcknowledgedPayload]) -> Entry:
    return Entry(MANUAL_ACK, payload)


def ansible_task(**payload: Unpack[AnsibleTaskPayload]) -> Entry:
    return Entry(ANSIBLE_TASK, payload)


def awx_job(**payload: Unpack[AwxJobPayload]) -> Entry:
    return Entry(AWX_JOB, payload)


def clock_declared(**payload: Unpack[ClockDeclaredPayload]) -> Entry:
    return Entry(CLOCK_DECLARED, payload)


def system_recovered(**payload: Unpack[SystemRecoveredPayload]) -> Entry:
    return Entry(SYSTEM_RECOVERED, payload)


def system_rpo(**payload: Unpack[SystemRpoPayload]) -> Entry:
    return Entry(SYSTEM_RPO, payload)


def note(**payload: Unpack[NotePayload]) -> Entry:
    return Entry(NOTE, payload)


def run_interrupted(**payload: Unpack[RunInterruptedPayload]) -> Entry:
    return Entry(RUN_INTERRUPTED, payload)


def run_resumed(**payload: Unpack[RunResumedPayload]) -> Entry:
    return Entry(RUN_RESUMED, payload)


def step_orphans(**payload: Unpack[StepOrphansPayload]) -> Entry:
    return Entry(STEP_ORPHANS, payload)


def run_finished(**payload: Unpack[RunFinishedPayload]) -> Entry:
    return Entry(RUN_FINISHED, payload)


def commander_action(**payload: Unpack[CommanderActionPayload]) -> Entry:
    return Entry(COMMANDER_ACTION, payload)


def evidence_added(**payload: Unpack[EvidenceAddedPayload]) -> Entry:
    return Entry(EVIDENCE_ADDED, payload)


def notify_failed(**payload: Unpack[NotifyFailedPayload]) -> Entry:
    return Entry(NOTIFY_FAILED, payload)


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
