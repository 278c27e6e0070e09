"""Following a launched job (or workflow job) to its end: events by counter, status, cancel.

Events: `GET jobs/N/job_events/?counter__gt=C&order_by=counter&no_truncate=1`, every page
(`next`). The controller saves events in batches, not always in counter order, so C is the highest
counter up to which every event has been seen (not the highest seen): a late event is fetched on a
later look, an event seen already is skipped. After the job ends, the watch goes on until the
controller says `event_processing_finished` (or `EVENTS_WAIT` passes), so no task result is lost.

Workflow jobs: their nodes (`workflow_jobs/N/workflow_nodes/`) are looked at each round; the events
of every node's job are followed the same way; node changes (started, ended, waiting for approval)
are written to the log.

Stopping: when the caller says stop (timeout, cancel) or the job is still pending/waiting after
`pending_timeout` (the controller has no capacity), `POST …/cancel/` is sent once and the watch goes
on until the job has ended (at most `CANCEL_WAIT`), so nothing is left running on the controller.
A controller that stops answering for `LOST_AFTER` consecutive looks ends the watch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bcdrill.executors.transport.awx import AwxClient, AwxError

FINAL = ("successful", "failed", "error", "canceled")
NOT_STARTED = ("new", "pending", "waiting")
CANCEL_WAIT = 120.0  # seconds a cancelled job is given to end
EVENTS_WAIT = 30.0  # seconds the events of an ended job are given to be saved
LOST_AFTER = 5  # consecutive failed looks before the controller counts as lost
PAGE_SIZE = 200
STOP_POLL = 0.25  # seconds between looks while a cancelled job ends

Stop = Literal["cancelled", "timeout", "not_started"]


@dataclass
class Watch:
    """What the caller gives the watch."""

    should_stop: Callable[[], Literal["cancelled", "timeout"] | None]
    sleep: Callable[[float], None]  # returns early when the step is cancelled
    on_event: Callable[[int, dict[str, Any]], None]  # (job id, job event)
    note: Callable[[str], None]  # one line for the step's log
    pending_timeout: float = 300.0
    poll_interval: float = 1.0


@dataclass
class JobEnd:
    """How the watch ended."""

    status: str | None  # the controller's last status of the job
    stopped: Stop | None = None  # why bcdrill cancelled it
    ended: bool = False  # the job reached a final status
    lost: str | None = None  # the controller stopped answering: why
    job: Mapping[str, Any] = field(default_factory=dict)  # its last record
    nodes: list[dict[str, Any]] = field(default_factory=list)  # a workflow's nodes at the end


class EventCursor:
    """Which events of each job have been handed on."""

    def __init__(self) -> None:
        self._upto: dict[int, int] = {}  # job -> every counter up to this one has been seen
        self._seen: dict[int, set[int]] = {}  # job -> counters seen above `upto`

    def after(self, job: int) -> int:
        return self._upto.get(job, 0)

    def take(self, job: int, counter: int) -> bool:
        """True the first time `counter` of `job` is seen."""
        upto, seen = self._upto.get(job, 0), self._seen.setdefault(job, set())
        if counter <= upto or counter in seen:
            return False
        seen.add(counter)
        while upto + 1 in seen:
            upto += 1
            seen.discard(upto)
        self._upto[job] = upto
        return True


def drain_events(client: AwxClient, job: int, cursor: EventCursor, watch: Watch) -> None:
    """Hand on every event of `job` not handed on yet, in counter order."""
    params = {
        "counter__gt": cursor.after(job),
        "order_by": "counter",
        "page_size": PAGE_SIZE,
        "no_truncate": 1,
    }
    for event in client.pages(f"jobs/{job}/job_events/", params):
        counter = event.get("counter")
        if isinstance(counter, int) and cursor.take(job, counter):
            watch.on_event(job, event)


class Watcher:
    """Follows one job or workflow job until it ends (see the module's docstring)."""

    def __init__(self, client: AwxClient, jobs: str, job: int, watch: Watch) -> None:
        self.client, self.jobs, self.job, self.watch = client, jobs, job, watch
        self.workflow = jobs == "workflow_jobs/"
        self.cursor = EventCursor()
        self.end = JobEnd(status=None)
        self._nodes_seen: dict[int, str] = {}  # node id -> last status noted
        self._cancelled_at: float | None = None
        self._failures = 0

    def run(self) -> JobEnd:
        launched = time.monotonic()
        while True:
            try:
                if self._look():
                    self._finish()
                    return self.end
                self._failures = 0
            except AwxError as exc:
                self._failures += 1
                if self._failures >= LOST_AFTER:
                    self.end.lost = str(exc)
                    return self.end
            if self._stop_or_give_up(launched):
                return self.end
            if self._cancelled_at is None:
                self.watch.sleep(self.watch.poll_interval)
            else:
                time.sleep(STOP_POLL)

    def _look(self) -> bool:
        """One round: the job's record, its (nodes') events; True when it has ended."""
        record = self.client.get(f"{self.jobs}{self.job}/")
        self.end.job = record
        self.end.status = str(record.get("status"))
        if self.workflow:
            self._follow_nodes()
        else:
            drain_events(self.client, self.job, self.cursor, self.watch)
        self.end.ended = self.end.status in FINAL
        return self.end.ended

    def _follow_nodes(self) -> None:
        nodes = list(self.client.pages(f"workflow_jobs/{self.job}/workflow_nodes/", {"page_size": PAGE_SIZE}))
        self.end.nodes = nodes
        for node in nodes:
            summary = (node.get("summary_fields") or {}).get("job") or {}
            if summary.get("type") == "job" and isinstance(node.get("job"), int):
                drain_events(self.client, node["job"], self.cursor, self.watch)
            self._note_node(node, summary)

    def _note_node(self, node: Mapping[str, Any], job: Mapping[str, Any]) -> None:
        status = job.get("status")
        if not status or self._nodes_seen.get(int(node["id"])) == status:
            return
        self._nodes_seen[int(node["id"])] = str(status)
        name = node_name(node)
        if job.get("type") == "workflow_approval" and status == "pending":
            self.watch.note(f"workflow node '{name}' waits for approval (workflow approval {job.get('id')})")
        else:
            self.watch.note(f"workflow node '{name}': {job.get('type')} {job.get('id')} {status}")

    def _stop_or_give_up(self, launched: float) -> bool:
        """Cancel the job when it must stop; True when a cancelled job did not end in time."""
        if self._cancelled_at is not None:
            return time.monotonic() - self._cancelled_at > CANCEL_WAIT
        reason: Stop | None = self.watch.should_stop()
        waited = time.monotonic() - launched
        if reason is None and self.end.status in NOT_STARTED and waited > self.watch.pending_timeout:
            reason = "not_started"
        if reason is not None:
            self.end.stopped = reason
            self._cancelled_at = time.monotonic()
            self.cancel()
        return False

    def cancel(self) -> None:
        """`POST …/cancel/` (405: it cannot be cancelled any more, i.e. it has ended)."""
        self.watch.note(f"cancelling {self.jobs[:-2]} {self.job} on the controller")
        try:
            self.client.post(f"{self.jobs}{self.job}/cancel/")
        except AwxError as exc:
            if exc.status != 405:
                self.watch.note(f"cancel refused: {exc}")

    def _finish(self) -> None:
        """After the end: the events still being saved (a workflow: of every node's job)."""
        jobs = [self.job] if not self.workflow else [int(n["job"]) for n in self.end.nodes if _is_job(n)]
        deadline = time.monotonic() + EVENTS_WAIT
        for job in jobs:
            while True:
                try:
                    drain_events(self.client, job, self.cursor, self.watch)
                    done = self.client.get(f"jobs/{job}/").get("event_processing_finished", True)
                except AwxError:
                    break
                if done or time.monotonic() > deadline:
                    drain_events(self.client, job, self.cursor, self.watch)
                    break
                time.sleep(STOP_POLL)


def _is_job(node: Mapping[str, Any]) -> bool:
    summary = (node.get("summary_fields") or {}).get("job") or {}
    return summary.get("type") == "job" and isinstance(node.get("job"), int)


def node_name(node: Mapping[str, Any]) -> str:
    """A workflow node as people know it: its template's name (or its identifier)."""
    template = (node.get("summary_fields") or {}).get("unified_job_template") or {}
    return str(template.get("name") or node.get("identifier") or node.get("id"))
