"""The engine of the AWX contract stand-in: jobs and workflow jobs run by REAL ansible-runner.

Not AWX (which needs Kubernetes): a stand-in for its job runner. Each job runs `ansible-playbook`
through ansible-runner in its own private data directory; ansible-runner's events become job events
with the same fields AWX stores (`counter`, `event`, `event_data` with Ansible's own `start`, `end`,
`duration`, `stdout`, ...), so times and failures are real. Cancelling a job stops every process of
it (found by a marker in their environment: Ansible's workers call setsid, as AWX's receptor kills
the whole pod), then the job ends `canceled`. A template with `hold_pending` keeps its jobs
`pending` (a controller without capacity) until they are cancelled.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bcdrill.executors.transport.ansible import ansible_bin_dir
from bcdrill.executors.transport.proctree import find_processes, terminate

FINAL = ("successful", "failed", "error", "canceled")
MARKER = "AWX_STANDIN_JOB"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class JobTemplate:
    id: int
    name: str
    playbook: str  # absolute path
    inventory: int | None = 1
    ask: set[str] = field(default_factory=set)  # "limit", "variables", "job_type", "tags", "inventory"
    survey: list[dict[str, Any]] = field(default_factory=list)  # [{variable, required, default?}]
    hold_pending: bool = False
    extra_vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Node:
    id: int
    kind: str  # "job" or "approval"
    name: str  # the template's name (job) or the approval's name
    identifier: str
    template: int | None = None  # a job template id (job nodes)
    job: int | None = None  # the spawned job or workflow approval
    do_not_run: bool = False


@dataclass
class WorkflowTemplate:
    id: int
    name: str
    nodes: list[tuple[str, str, int | None]]  # (kind, name, job template id), run one after the other
    ask: set[str] = field(default_factory=set)


@dataclass
class Job:
    id: int
    template: JobTemplate | None
    status: str = "pending"
    job_type: str = "run"
    limit: str = ""
    job_tags: str = ""
    extra_vars: dict[str, Any] = field(default_factory=dict)
    inventory: int | None = None
    created: str = field(default_factory=now_iso)
    started: str | None = None
    finished: str | None = None
    canceled_on: str | None = None
    job_explanation: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    event_processing_finished: bool = False
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    mono_started: float | None = None
    mono_finished: float | None = None
    # workflow jobs and approvals
    kind: str = "job"  # job | workflow_job | workflow_approval
    name: str = ""
    workflow: WorkflowTemplate | None = None
    nodes: list[Node] = field(default_factory=list)
    decided: threading.Event = field(default_factory=threading.Event)

    @property
    def elapsed(self) -> float:
        if self.mono_started is None:
            return 0.0
        return round((self.mono_finished or time.monotonic()) - self.mono_started, 3)


def _path() -> str:
    """PATH with ansible-playbook (beside this Python in a venv) first."""
    return os.pathsep.join([ansible_bin_dir(), os.environ.get("PATH", os.defpath)])


class Engine:
    """Runs jobs and workflow jobs in threads; the HTTP side only reads and asks."""

    def __init__(self, inventory_file: Path) -> None:
        self.lock = threading.RLock()
        self.inventory_file = inventory_file
        self.jobs: dict[int, Job] = {}  # every unified job: jobs, workflow jobs, approvals
        self._next_id = 100
        self._next_event = 1000
        self._threads: list[threading.Thread] = []
        self._dirs: list[str] = []

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    # ---- jobs ---------------------------------------------------------------------------------

    def start_job(self, template: JobTemplate, **launch: Any) -> Job:
        job = Job(id=self.new_id(), template=template, name=template.name, **launch)
        with self.lock:
            self.jobs[job.id] = job
        self._spawn(self._run_job, job)
        return job

    def _spawn(self, target: Any, job: Job) -> None:
        thread = threading.Thread(target=target, args=(job,), name=f"standin-job-{job.id}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run_job(self, job: Job) -> None:
        assert job.template is not None
        if job.template.hold_pending:
            job.cancel_requested.wait()
            self._end(job, "canceled")
            return
        job.status, job.started, job.mono_started = "running", now_iso(), time.monotonic()
        if job.cancel_requested.is_set():
            self._end(job, "canceled")
            return
        status = self._ansible(job)
        self._end(job, status)

    def _ansible(self, job: Job) -> str:
        import ansible_runner

        assert job.template is not None
        pdd = tempfile.mkdtemp(prefix="awx-standin-")
        self._dirs.append(pdd)

        def handler(event: dict[str, Any]) -> bool:
            self._add_event(job, event)
            return False

        def cancelled() -> bool:
            if job.cancel_requested.is_set():
                terminate(find_processes(env=f"{MARKER}={job.marker}"))
                return True
            return False

        runner = ansible_runner.run(
            private_data_dir=pdd,
            playbook=job.template.playbook,
            inventory=str(self.inventory_file),
            extravars={**job.template.extra_vars, **job.extra_vars} or None,
            limit=job.limit or None,
            tags=job.job_tags or None,
            cmdline="--check" if job.job_type == "check" else None,
            envvars={MARKER: job.marker, "ANSIBLE_NOCOLOR": "1", "PATH": _path()},
            event_handler=handler,
            cancel_callback=cancelled,
            settings={"pexpect_timeout": 0.2, "suppress_ansible_output": True},
            quiet=True,
        )
        terminate(find_processes(env=f"{MARKER}={job.marker}"))
        if job.cancel_requested.is_set() or runner.status == "canceled":
            return "canceled"
        if runner.status == "successful":
            return "successful"
        if runner.status == "failed":
            return "failed"
        job.job_explanation = f"ansible-runner ended {runner.status}"
        return "error"

    def _add_event(self, job: Job, event: dict[str, Any]) -> None:
        with self.lock:
            self._next_event += 1
            data = dict(event.get("event_data") or {})
            job.events.append(
                {
                    "id": self._next_event,
                    "counter": int(event.get("counter") or 0),
                    "event": event.get("event", ""),
                    "event_data": data,
                    "uuid": event.get("uuid", ""),
                    "parent_uuid": event.get("parent_uuid", ""),
                    "stdout": event.get("stdout", ""),
                    "start_line": event.get("start_line", 0),
                    "end_line": event.get("end_line", 0),
                    "verbosity": event.get("verbosity", 0),
                    "created": event.get("created") or now_iso(),
                }
            )

    def _end(self, job: Job, status: str) -> None:
        job.mono_finished = time.monotonic()
        job.finished = now_iso()
        if status == "canceled":
            job.canceled_on = job.finished
            job.job_explanation = job.job_explanation or "Job canceled by user request"
        job.status = status
        job.event_processing_finished = True
        job.decided.set()

    def cancel(self, job: Job) -> bool:
        """Ask a job to stop; False when it cannot be cancelled any more."""
        if job.status in FINAL:
            return False
        job.cancel_requested.set()
        if job.kind == "workflow_approval":
            self._end(job, "canceled")
        return True

    # ---- workflow jobs ------------------------------------------------------------------------

    def start_workflow(
        self, template: WorkflowTemplate, templates: dict[int, JobTemplate], **launch: Any
    ) -> Job:
        job = Job(id=self.new_id(), template=None, kind="workflow_job", name=template.name, workflow=template)
        job.extra_vars = dict(launch.get("extra_vars") or {})
        for kind, name, tid in template.nodes:
            job.nodes.append(Node(id=self.new_id(), kind=kind, name=name, identifier=name, template=tid))
        with self.lock:
            self.jobs[job.id] = job
        self._spawn(lambda wf: self._run_workflow(wf, templates), job)
        return job

    def _run_workflow(self, wf: Job, templates: dict[int, JobTemplate]) -> None:
        wf.status, wf.started, wf.mono_started = "running", now_iso(), time.monotonic()
        status = "successful"
        for node in wf.nodes:
            if wf.cancel_requested.is_set():
                status = "canceled"
                break
            child = self._node_job(wf, node, templates)
            node.job = child.id
            while not child.decided.wait(0.1):
                if wf.cancel_requested.is_set():
                    self.cancel(child)
            if child.status != "successful":
                status = "canceled" if wf.cancel_requested.is_set() else "failed"
                break
        for node in wf.nodes:
            node.do_not_run = node.job is None
        self._end(wf, status)

    def _node_job(self, wf: Job, node: Node, templates: dict[int, JobTemplate]) -> Job:
        if node.kind == "job":
            assert node.template is not None
            return self.start_job(templates[node.template], extra_vars=dict(wf.extra_vars))
        approval = Job(id=self.new_id(), template=None, kind="workflow_approval", name=node.name)
        approval.started, approval.mono_started = now_iso(), time.monotonic()
        with self.lock:
            self.jobs[approval.id] = approval
        return approval

    def decide(self, approval: Job, approve: bool) -> bool:
        if approval.status != "pending":
            return False
        self._end(approval, "successful" if approve else "failed")
        return True

    def close(self) -> None:
        for job in list(self.jobs.values()):
            self.cancel(job)
        for thread in self._threads:
            thread.join(timeout=30)
        for pdd in self._dirs:
            shutil.rmtree(pdd, ignore_errors=True)
