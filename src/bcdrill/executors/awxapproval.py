"""Approval nodes of AWX workflows, decided by a `manual` step with `awx_approve: {step, node}`.

The manual step waits until the workflow that the `awx` step `step` launched (the run's
`WORKFLOWS` resource) waits at approval node `node`, then asks its question as usual; pass approves
the pending workflow approval on the controller, fail denies it.
"""

from __future__ import annotations

from bcdrill.executors.awx import WORKFLOWS, client_of
from bcdrill.executors.base import Outcome, StepContext
from bcdrill.executors.transport.awx import AwxClient, AwxError
from bcdrill.executors.transport.awxlaunch import decide_approval, pending_approval
from bcdrill.executors.transport.awxwatch import FINAL
from bcdrill.scenario.model import AwxApproval


def await_approval(approval: AwxApproval, ctx: StepContext) -> int | Outcome:
    """Wait until the workflow that step `approval.step` launched waits at node `approval.node`; the
    pending workflow approval's id, or the Outcome that ended the wait."""
    client, conn = client_of(ctx), ctx.scenario.awx
    where = f"approval node '{approval.node}' of the workflow of step '{approval.step}'"
    ctx.log.write(f"waiting for the {where} to be reached\n")
    while True:
        workflows: dict[str, int] = ctx.resources.get(WORKFLOWS, dict)
        workflow = workflows.get(approval.step)
        try:
            found = pending_approval(client, workflow, approval.node) if workflow is not None else None
            ended = workflow is not None and found is None and _status(client, workflow) in FINAL
        except AwxError as exc:
            return Outcome("failed", str(exc))
        if found is not None:
            ctx.log.write(
                f"workflow job {workflow}: workflow approval {found} ('{approval.node}') is pending\n"
            )
            return found
        if ended:
            return Outcome("failed", f"workflow job {workflow} ended without reaching the {where}")
        if ctx.cancel.is_set():
            return Outcome("cancelled", f"cancelled while waiting for the {where}")
        if ctx.expired():
            return Outcome("timeout", f"the {where} was not reached before the step's timeout")
        interval = conn.poll_interval if conn is not None else 1.0
        ctx.cancel.wait(min(interval, ctx.remaining() or interval))


def _status(client: AwxClient, workflow: int) -> str:
    return str(client.get(f"workflow_jobs/{workflow}/").get("status"))


def settle_approval(approval: AwxApproval, pending: int, decided: Outcome, ctx: StepContext) -> Outcome:
    """Approve the workflow approval when the person confirmed pass, deny it on fail."""
    if decided.status not in ("ok", "failed"):
        return decided  # no decision (timeout, cancel): the approval stays pending
    verb = "approved" if decided.ok else "denied"
    try:
        decide_approval(client_of(ctx), pending, decided.ok)
    except AwxError as exc:
        return Outcome("failed", f"{decided.detail}; the controller refused the decision: {exc}")
    ctx.log.write(f"workflow approval {pending} ('{approval.node}') {verb}\n")
    return Outcome(
        decided.status, f"{decided.detail}; workflow approval {pending} ('{approval.node}') {verb}"
    )
