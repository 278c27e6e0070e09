"""The `ansible` action: run a playbook through ansible-runner (see `bcdrill.executors.transport.ansible`)."""

from __future__ import annotations

from pathlib import Path

from bcdrill.common.duration import format_duration
from bcdrill.executors.base import Executor, Outcome, Status, StepContext
from bcdrill.executors.transport.ansible import PlaybookResult, PlaybookSpec, Stop, run_playbook
from bcdrill.scenario.model import AnsibleAction


def run_ansible(action: AnsibleAction, ctx: StepContext, *, check: bool = False) -> Outcome:
    """Run the playbook (in Ansible's check mode with `check`, which is what a dry run does)."""

    def should_stop() -> Stop | None:
        if ctx.cancel.is_set():
            return "cancelled"
        return "timeout" if ctx.expired() else None

    spec = PlaybookSpec(
        playbook=action.playbook,
        private_dir=artifact_dir(ctx),
        inventory=action.inventory or ctx.scenario.inventory,
        limit=action.limit,
        tags=action.tags,
        extravars=action.extravars,
        check=check,
        secrets=ctx.scenario.secrets,
    )
    try:
        result = run_playbook(spec, step=ctx.step.id, log=ctx.log, emit=ctx.emit, should_stop=should_stop)
    except FileNotFoundError as exc:
        return Outcome("failed", detail=str(exc))
    observed = {"artifacts": str(spec.private_dir.relative_to(ctx.run_dir)), "check_mode": spec.check}
    if result.stopped == "timeout":
        limit = format_duration(ctx.step.timeout)
        detail = f"ansible-playbook exceeded its timeout of {limit}; cancelled"
        return Outcome("timeout", detail=detail, exit_code=result.rc, observed=observed)
    if result.stopped == "cancelled":
        return Outcome(
            "cancelled", detail="ansible-playbook cancelled", exit_code=result.rc, observed=observed
        )
    status: Status = "ok" if result.rc == 0 and result.error is None else "failed"
    detail = describe(result)
    if spec.check:
        detail = f"check mode: {detail}"
    return Outcome(status, detail=detail, exit_code=result.rc, last_line=result.last_msg, observed=observed)


def artifact_dir(ctx: StepContext) -> Path:
    """RUN_DIR/artifacts/<step>-<attempt>/ (a numbered suffix if a resumed run reuses the attempt)."""
    base = ctx.run_dir / "artifacts" / f"{ctx.step.id}-{ctx.attempt}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}.{n}")
    return path


def describe(result: PlaybookResult) -> str:
    """One line for step.finished: the first failure (or unreachable host), else a summary."""
    hosts = len(result.stats.get("processed", {}))
    if result.error:
        return f"ansible-runner failed: {result.error}"
    if result.failed:
        first = result.failed[0]
        count = len(result.stats.get("failures", {})) or len({p.host for p in result.failed})
        return (
            f"task '{first.task}' failed on {first.host}: {first.message} ({count} of {hosts} hosts failed)"
        )
    if result.unreachable:
        first = result.unreachable[0]
        count = len(result.stats.get("dark", {})) or len({p.host for p in result.unreachable})
        return (
            f"host {first.host} unreachable in task '{first.task}': {first.message} "
            f"({count} of {hosts} hosts unreachable)"
        )
    if result.rc != 0:
        reason = result.last_error_line or result.last_line or "no output"
        return f"ansible-playbook exited with rc {result.rc}: {reason}"
    changed = sum(result.stats.get("changed", {}).values())
    return f"playbook ok on {hosts} host{'s' if hosts != 1 else ''} ({changed} changed)"


class AnsibleExecutor:
    def run(self, action: AnsibleAction, ctx: StepContext, /) -> Outcome:
        return run_ansible(action, ctx)

    def dry_run(self, action: AnsibleAction, ctx: StepContext, /) -> Outcome:
        return run_ansible(action, ctx, check=True)

    def describe(self, action: AnsibleAction, /) -> str:
        return f"ansible-playbook {action.playbook}" + (f" --limit {action.limit}" if action.limit else "")


EXECUTOR: Executor[AnsibleAction] = AnsibleExecutor()
