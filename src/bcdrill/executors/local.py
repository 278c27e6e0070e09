"""`run`: a local command (string → /bin/sh -c, list → argv) with its whole process group on a leash."""

from __future__ import annotations

from pathlib import Path

from bcdrill.executors.base import Executor, Outcome, StepContext, not_executed, process_tag
from bcdrill.executors.transport.process import ProcessResult, run_process
from bcdrill.scenario.model import RunAction


def command_text(command: str | tuple[str, ...]) -> str:
    import shlex

    return command if isinstance(command, str) else shlex.join(command)


def resolve_cwd(cwd: str | None, ctx: StepContext) -> str | None:
    """A relative `cwd` is relative to the scenario file, like every other path in it."""
    if cwd is None:
        return None
    return str(Path(ctx.scenario.path).parent / cwd)


def outcome_of(result: ProcessResult, ctx: StepContext) -> Outcome:
    """Map a finished process to an Outcome (exit code ≠ 0 → failed, with the last line)."""
    if result.status == "timeout":
        return Outcome("timeout", "timed out; process group killed", None, result.last_line)
    if result.status == "cancelled":
        return Outcome("cancelled", "cancelled; process group killed", None, result.last_line)
    code = result.exit_code
    if code == 0:
        return Outcome("ok", "exit code 0", 0, result.last_line, survivors=result.survivors)
    tail = f": {result.last_line}" if result.last_line else ""
    return Outcome("failed", f"exit code {code}{tail}", code, result.last_line)


def run_local(action: RunAction, ctx: StepContext) -> Outcome:
    result = run_process(
        action.command,
        log=ctx.log,
        deadline=ctx.deadline,
        cancel=ctx.cancel,
        cwd=resolve_cwd(action.cwd, ctx),
        env=action.env,
        tag=process_tag(ctx),
    )
    return outcome_of(result, ctx)


class LocalExecutor:
    def run(self, action: RunAction, ctx: StepContext, /) -> Outcome:
        return run_local(action, ctx)

    def dry_run(self, action: RunAction, ctx: StepContext, /) -> Outcome:
        return not_executed(self.describe(action))

    def describe(self, action: RunAction, /) -> str:
        return command_text(action.command)


EXECUTOR: Executor[RunAction] = LocalExecutor()
