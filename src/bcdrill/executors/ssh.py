"""The `ssh` action: run a command on a host over the run's pooled SSH connection.

Host resolution, host-key checks and authentication are in `bcdrill.executors.transport.sshpool`;
streaming the output and killing the remote process group on timeout/cancel are in
`bcdrill.executors.transport.sshexec`.
"""

from __future__ import annotations

from bcdrill.executors.base import Executor, Outcome, StepContext, not_executed
from bcdrill.executors.transport.sshexec import connect_failure, run_remote, stopped_outcome
from bcdrill.executors.transport.sshpool import SshError, resolve_target
from bcdrill.scenario.model import SshAction


def run_ssh(action: SshAction, ctx: StepContext) -> Outcome:
    target = resolve_target(ctx.scenario.hosts, action.host, user=action.user, port=action.port)
    try:
        result = run_remote(ctx, target, action.command)
    except SshError as exc:
        return connect_failure(exc, ctx)
    if result.status != "ok":
        return stopped_outcome(result, target, ctx)
    if result.exit_code is None:
        detail = f"the command on {target.label} ended without an exit status (killed by a signal?)"
        return Outcome("failed", detail=detail, last_line=result.last_line)
    if result.exit_code != 0:
        detail = f"exit code {result.exit_code} on {target.label}: {result.last_line or '(no output)'}"
        return Outcome("failed", detail=detail, exit_code=result.exit_code, last_line=result.last_line)
    return Outcome("ok", detail=f"exit code 0 on {target.label}", exit_code=0, last_line=result.last_line)


class SshExecutor:
    def run(self, action: SshAction, ctx: StepContext, /) -> Outcome:
        return run_ssh(action, ctx)

    def dry_run(self, action: SshAction, ctx: StepContext, /) -> Outcome:
        ctx.log.write(f"dry run: would run on {action.host}: {action.command}\n")
        return not_executed(self.describe(action))

    def describe(self, action: SshAction, /) -> str:
        return f"ssh {action.host}: {action.command}"


EXECUTOR: Executor[SshAction] = SshExecutor()
