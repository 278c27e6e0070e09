"""The `awx` action: launch a job template (or workflow job template) on AWX / Automation Platform
and follow it to its end (`transport/awx.py`: HTTP; `awxlaunch.py`: checks and launch;
`awxwatch.py`: events, status, cancel).

Each task result of the job becomes an `ansible.task` event with the controller's own times, as for
a local playbook; the job's output goes to the step log; `awx.job` records which job ran. A dry run
launches a job template with `job_type: check`; a workflow (which has no check mode) is checked and
not launched. `manual: {awx_approve: …}` steps decide a workflow's approval node (`awxapproval.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bcdrill.common.duration import format_duration
from bcdrill.common.redact import Redactor
from bcdrill.executors.ansible import artifact_dir, describe
from bcdrill.executors.base import (
    AckEvent,
    AwxJobEvent,
    CommandEvent,
    Emit,
    Executor,
    Outcome,
    StepContext,
    TaskEvent,
)
from bcdrill.executors.transport.ansible import EventCollector, PlaybookResult
from bcdrill.executors.transport.awx import AwxClient, AwxError, Controller
from bcdrill.executors.transport.awxlaunch import (
    Launched,
    LaunchSpec,
    find_inventory,
    find_template,
    launch,
    launch_problems,
)
from bcdrill.executors.transport.awxwatch import JobEnd, Watch, Watcher, node_name
from bcdrill.scenario.model import AwxAction, Scenario

WORKFLOWS = "awx-workflows"  # resources: step id -> the workflow job its latest attempt launched


def client_of(ctx: StepContext) -> AwxClient:
    """The run's client of the scenario's controller (one per run: the API root is found once)."""
    return ctx.resources.get("awx-client", functools.partial(_new_client, ctx.scenario))


def _new_client(scn: Scenario) -> AwxClient:
    conn = scn.awx
    if conn is None:  # the loader refuses awx steps without a controller
        raise AwxError("no awx: controller in the scenario")
    return AwxClient(
        Controller(
            url=conn.url,
            token=conn.token,
            token_var=conn.token_var,
            verify_tls=conn.verify_tls,
            ca_file=conn.ca_file,
            api=conn.api,
            timeout=conn.request_timeout,
        )
    )


def spec_of(action: AwxAction, *, check: bool) -> LaunchSpec:
    return LaunchSpec(
        template=action.template,
        workflow=action.workflow,
        inventory=action.inventory,
        limit=action.limit,
        extra_vars=action.extra_vars,
        job_tags=action.job_tags,
        check=check,
    )


def run_awx(action: AwxAction, ctx: StepContext, *, check: bool = False) -> Outcome:
    """Check, launch and follow the job; a dry run (`check`) launches in check mode or not at all."""
    spec = spec_of(action, check=check and not action.workflow)
    client = client_of(ctx)
    try:
        template = find_template(client, spec)
        name = f"{spec.what} '{template.get('name')}' (id {template.get('id')})"
        problems = launch_problems(client.get(f"{spec.endpoint}{template['id']}/launch/"), spec)
        if check and (action.workflow or any("ask_job_type_on_launch" in p for p in problems)):
            return _not_launched(name, problems, workflow=action.workflow)
        if problems:
            return Outcome("failed", f"{name} cannot be launched as the step says: {'; '.join(problems)}")
        inventory = find_inventory(client, spec.inventory) if spec.inventory is not None else None
        launched = launch(client, template, spec, inventory)
    except AwxError as exc:
        return Outcome("failed", str(exc))
    _record_launch(ctx, client, launched, template, spec)
    result = PlaybookResult()
    watcher = Watcher(client, launched.jobs, launched.job, _watch(ctx, result))
    if launched.ignored:  # never run with other settings than the scenario's (nor outside check mode)
        watcher.watch.should_stop = lambda: "cancelled"
        watcher.run()
        fields = ", ".join(sorted(launched.ignored))
        return Outcome("failed", f"the controller ignored {fields} of the launch; {_ref(launched)} cancelled")
    return outcome_of(watcher.run(), result, launched, ctx, check=spec.check)


def _not_launched(name: str, problems: list[str], *, workflow: bool) -> Outcome:
    """A dry run that cannot launch in check mode: described, checked, not launched."""
    others = [p for p in problems if "ask_job_type_on_launch" not in p]
    if others:
        return Outcome("failed", f"{name} cannot be launched as the step says: {'; '.join(others)}")
    why = "workflows have no check mode" if workflow else "it does not prompt for Job Type (no check mode)"
    return Outcome("ok", f"dry run: not launched: {name}: {why}")


def _record_launch(
    ctx: StepContext, client: AwxClient, launched: Launched, template: Mapping[str, Any], spec: LaunchSpec
) -> None:
    kind = launched.jobs[:-2]
    ctx.emit.awx_job(
        {
            "step": ctx.step.id,
            "job": launched.job,
            "type": kind,
            "template": template.get("name"),
            "template_id": template.get("id"),
            "job_type": "check" if spec.check else "run",
            "url": f"{client.controller.url}{client.root}{launched.jobs}{launched.job}/",
        }
    )
    ctx.log.write(f"launched {kind} {launched.job} of '{template.get('name')}' on {client.controller.url}\n")
    if spec.workflow:
        workflows: dict[str, int] = ctx.resources.get(WORKFLOWS, dict)
        workflows[ctx.step.id] = launched.job


def _watch(ctx: StepContext, result: PlaybookResult) -> Watch:
    conn = ctx.scenario.awx
    assert conn is not None
    redactor = Redactor(ctx.scenario.secrets)
    events_dir = _events_dir(ctx)
    collectors: dict[int, EventCollector] = {}

    def on_event(job: int, event: dict[str, Any]) -> None:
        if job not in collectors:
            emit = _JobEvents(ctx.emit, job)
            collectors[job] = EventCollector(
                ctx.step.id, log=ctx.log, emit=emit, redactor=redactor, result=result, events_dir=events_dir
            )
        collectors[job].handle(event)

    def should_stop() -> Any:
        return "cancelled" if ctx.cancel.is_set() else "timeout" if ctx.expired() else None

    return Watch(
        should_stop=should_stop,
        sleep=functools.partial(_sleep, ctx),
        on_event=on_event,
        note=lambda line: ctx.log.write(line + "\n"),
        pending_timeout=conn.pending_timeout,
        poll_interval=conn.poll_interval,
    )


def _sleep(ctx: StepContext, seconds: float) -> None:
    """Pause, but no longer than the deadline, and not at all once the step is cancelled."""
    remaining = ctx.remaining()
    ctx.cancel.wait(seconds if remaining is None else min(seconds, remaining))


class _JobEvents:
    """The step's Emit, with the AWX job each task result comes from added."""

    def __init__(self, emit: Emit, job: int) -> None:
        self._emit, self._job = emit, job

    def ansible_task(self, task: TaskEvent, /) -> None:
        self._emit.ansible_task({**task, "awx_job": self._job})

    def manual_acknowledged(self, ack: AckEvent, /) -> None:
        self._emit.manual_acknowledged(ack)

    def commander_action(self, command: CommandEvent, /) -> None:
        self._emit.commander_action(command)

    def awx_job(self, job: AwxJobEvent, /) -> None:
        self._emit.awx_job(job)


def _events_dir(ctx: StepContext) -> Path:
    path = artifact_dir(ctx) / "job_events"
    path.mkdir(parents=True, mode=0o700)
    return path


def _ref(launched: Launched) -> str:
    return f"{launched.jobs[:-2].replace('_', ' ')} {launched.job}"


def outcome_of(
    end: JobEnd, result: PlaybookResult, launched: Launched, ctx: StepContext, *, check: bool
) -> Outcome:
    """The step's outcome from how the job ended."""
    ref = _ref(launched)
    observed = {"awx_job": launched.job, "status": end.status}
    if end.lost is not None:
        detail = f"lost the controller while following {ref}: {end.lost} — it may still run: look there"
        return Outcome("failed", detail, observed=observed)
    after = f"cancelled on the controller ({end.status})"
    if not end.ended:
        after = f"cancel sent, but it was still {end.status} when bcdrill stopped waiting — look there"
    if end.stopped == "timeout":
        limit = format_duration(ctx.step.timeout or 0)
        return Outcome("timeout", f"{ref} exceeded the step's timeout of {limit}; {after}", observed=observed)
    if end.stopped == "cancelled":
        return Outcome("cancelled", f"{ref} {after}", observed=observed)
    if end.stopped == "not_started":
        conn = ctx.scenario.awx
        waited = format_duration(conn.pending_timeout if conn else 0)
        detail = f"{ref} did not start within {waited} (no capacity on the controller?); {after}"
        return Outcome("failed", detail, observed=observed)
    return _final(end, result, ref, observed, check=check)


def _final(
    end: JobEnd, result: PlaybookResult, ref: str, observed: dict[str, Any], *, check: bool
) -> Outcome:
    explanation = str(end.job.get("job_explanation") or "").strip()
    mode = "check mode: " if check else ""
    if end.status == "successful":
        summary = _nodes(end) if end.nodes else _hosts(result)
        return Outcome(
            "ok", f"{mode}{ref} successful: {summary}", last_line=result.last_msg, observed=observed
        )
    if end.status == "failed":
        nodes = _failed_nodes(end)
        reason = (
            describe(result) if (result.failed or result.unreachable) else explanation or "no reason given"
        )
        return Outcome("failed", f"{mode}{ref} failed{nodes}: {reason}", observed=observed)
    if end.status == "canceled":
        return Outcome(
            "failed", f"{ref} was canceled on the controller{': ' + explanation if explanation else ''}"
        )
    trace = str(end.job.get("result_traceback") or "").strip().splitlines()
    reason = explanation or (trace[-1] if trace else "no reason given")
    return Outcome("failed", f"{ref} ended in {end.status}: {reason}", observed=observed)


def _hosts(result: PlaybookResult) -> str:
    hosts = len(result.stats.get("processed", {}))
    changed = sum(result.stats.get("changed", {}).values())
    return f"playbook ok on {hosts} host{'s' if hosts != 1 else ''} ({changed} changed)"


def _nodes(end: JobEnd) -> str:
    shown = []
    for node in end.nodes:
        job = (node.get("summary_fields") or {}).get("job") or {}
        shown.append(f"{node_name(node)} {job.get('status') or 'not run'}")
    return ", ".join(shown)


def _failed_nodes(end: JobEnd) -> str:
    failed = [
        node_name(n)
        for n in end.nodes
        if ((n.get("summary_fields") or {}).get("job") or {}).get("status") in ("failed", "error", "canceled")
    ]
    return f" (nodes: {', '.join(failed)})" if failed else ""


class AwxExecutor:
    def run(self, action: AwxAction, ctx: StepContext, /) -> Outcome:
        return run_awx(action, ctx)

    def dry_run(self, action: AwxAction, ctx: StepContext, /) -> Outcome:
        return run_awx(action, ctx, check=True)

    def describe(self, action: AwxAction, /) -> str:
        what = "workflow job template" if action.workflow else "job template"
        limit = f" --limit {action.limit}" if action.limit else ""
        return f"launch the {what} '{action.template}' on AWX{limit}"


EXECUTOR: Executor[AwxAction] = AwxExecutor()
