"""The executor interface: run one rendered action, honour a deadline and a cancel signal, return an Outcome.

Executors never print and never time themselves (the runner owns the clock and the
journal). A failed step is an Outcome with status "failed", not an exception; an
exception escaping an executor is treated as a bug and recorded as a failed step
with the exception text.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict, TypeVar, runtime_checkable

from bcdrill.scenario.model import Scenario, Step

Status = Literal["ok", "failed", "timeout", "cancelled", "skipped"]  # skipped: a commander skipped it


@dataclass(frozen=True)
class Outcome:
    """What one attempt of a step produced."""

    status: Status
    detail: str = ""
    exit_code: int | None = None
    last_line: str | None = None  # last non-empty output line (used by `rpo_of`)
    observed: Mapping[str, Any] = field(default_factory=dict)
    data_timestamp: str | float | None = None  # newest data at DR (ISO-8601 or epoch), for RPO
    survivors: tuple[tuple[int, str], ...] = ()  # (pid, command) the step left running when it ended

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class LogSink(Protocol):
    """The step's log (logs/<step>.log). Thread-safe; secrets are masked by the sink."""

    def write(self, text: str) -> None: ...


class _TaskRequired(TypedDict):
    step: str
    host: str | None  # as ansible-runner reports them
    task: str | None
    status: str


class TaskEvent(_TaskRequired, total=False):
    """One Ansible task on one host, as it ended (journaled as `ansible.task`)."""

    start: str | None
    end: str | None
    duration: float | None
    play: str | None
    action: str | None
    item: str
    ignored: bool
    awx_job: int  # `awx` steps: the AWX job the result comes from


class _AwxJobRequired(TypedDict):
    step: str
    job: int
    type: str  # job | workflow_job


class AwxJobEvent(_AwxJobRequired, total=False):
    """The job an `awx` step launched on the controller (journaled as `awx.job`)."""

    template: str | None
    template_id: int | None
    job_type: str  # run | check
    url: str


class _AckRequired(TypedDict):
    step: str
    by: str
    result: str


class AckEvent(_AckRequired, total=False):
    """A person's confirmation of a manual step (journaled as `manual.acknowledged`)."""

    note: str | None
    via: str
    given_ts: str
    role: str | None
    client: str | None
    evidence: list[str]


class _CommandRequired(TypedDict):
    action: str
    by: str


class CommandEvent(_CommandRequired, total=False):
    """A drill commander's decision about a step, e.g. skipping it (journaled as `commander.action`)."""

    step: str | None
    role: str | None
    reason: str | None
    via: str
    client: str | None
    given_ts: str


class Emit(Protocol):
    """The events an executor adds to the journal. The run core writes them (record/events.py has
    the journal's types; mypy checks these payloads against them where the run core passes them
    on), so executors name no journal event and import nothing of record/."""

    def ansible_task(self, task: TaskEvent, /) -> None: ...

    def manual_acknowledged(self, ack: AckEvent, /) -> None: ...

    def commander_action(self, command: CommandEvent, /) -> None: ...

    def awx_job(self, job: AwxJobEvent, /) -> None: ...


class EventList:
    """An Emit that keeps what it is given, as (method name, payload): for executors run outside a
    drill (tests, probes)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Mapping[str, object]]] = []

    def ansible_task(self, task: TaskEvent, /) -> None:
        self.events.append(("ansible_task", task))

    def manual_acknowledged(self, ack: AckEvent, /) -> None:
        self.events.append(("manual_acknowledged", ack))

    def commander_action(self, command: CommandEvent, /) -> None:
        self.events.append(("commander_action", command))

    def awx_job(self, job: AwxJobEvent, /) -> None:
        self.events.append(("awx_job", job))


@dataclass(frozen=True)
class RunOptions:
    """Run-wide settings the executors may need."""

    dry_run: bool = False
    auto_ack: bool = False
    interactive: bool = False  # stdin and stdout are a terminal: manual steps prompt there


T = TypeVar("T")


class Resources:
    """Run-scoped shared objects (e.g. an SSH connection pool), created once, closed at the end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Any] = {}

    def get(self, name: str, factory: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._items:
                self._items[name] = factory()
            item: T = self._items[name]
            return item

    def close_all(self) -> None:
        with self._lock:
            items, self._items = list(self._items.values()), {}
        for item in items:
            close = getattr(item, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):  # closing must never break the end of a run
                    close()


class Confirmation(Protocol):
    """An acknowledgement of a manual step dropped in the run directory (`drill ack`, the console)."""

    @property
    def by(self) -> str: ...
    @property
    def result(self) -> str: ...
    @property
    def note(self) -> str | None: ...
    @property
    def ts(self) -> str: ...
    @property
    def via(self) -> str: ...  # ack-file (`drill ack`) or console
    @property
    def role(self) -> str | None: ...
    @property
    def client(self) -> str | None: ...
    @property
    def evidence(self) -> tuple[str, ...]: ...  # SHA-256 of evidence files given with it


class Inbox(Protocol):
    """Where people's acknowledgements arrive; the run core provides it (executors never read the
    run directory's request files themselves)."""

    def take_ack(self, step: str, attempt: int, /) -> Confirmation | None: ...


class EmptyInbox:
    """An inbox nothing arrives in (executors run outside a drill, e.g. in tests)."""

    def take_ack(self, step: str, attempt: int, /) -> Confirmation | None:
        return None


@dataclass
class StepContext:
    """Everything an executor may use while running one attempt of one step."""

    step: Step
    scenario: Scenario
    run_dir: Path
    attempt: int
    deadline: float | None  # a time.monotonic() value; None means no timeout
    cancel: threading.Event  # set when the run aborts or is interrupted
    log: LogSink
    emit: Emit
    options: RunOptions
    resources: Resources
    inbox: Inbox = field(default_factory=EmptyInbox)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (never negative), or None without a deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


A = TypeVar("A", contravariant=True)


@runtime_checkable
class Executor(Protocol[A]):
    """One action kind, registered by name in `bcdrill.executors.EXECUTORS`; each executor module
    declares `EXECUTOR: Executor[ItsAction]`, so mypy checks it against this protocol.

    `run` does the action; `dry_run` is what `--dry-run` does instead (nothing that changes the
    world: a check still probes, Ansible runs in check mode, a manual step is acknowledged as
    "auto (dry run)", everything else is described and not executed); `describe` is the action in
    one line for people."""

    def run(self, action: A, ctx: StepContext, /) -> Outcome: ...

    def dry_run(self, action: A, ctx: StepContext, /) -> Outcome: ...

    def describe(self, action: A, /) -> str: ...


def not_executed(description: str) -> Outcome:
    """The dry-run outcome of an action that would change something."""
    return Outcome("ok", f"dry run: not executed: {description}")


@functools.lru_cache(maxsize=64)
def run_key(run_dir: Path) -> str:
    """A short, stable name of a run directory (for process tags). Computed once per directory:
    resolving the path costs a stat of each of its parts, at every step."""
    import hashlib

    return hashlib.sha256(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]


def step_tag_prefix(run_dir: Path, step_id: str) -> str:
    """What the tag of every process of `step_id` in this run starts with (resume looks for it)."""
    return f"{run_key(run_dir)}/{step_id}/"


def process_tag(ctx: StepContext) -> str:
    """The tag of the processes this attempt starts: `<run>/<step>/<attempt>`."""
    return f"{step_tag_prefix(ctx.run_dir, ctx.step.id)}{ctx.attempt}"
