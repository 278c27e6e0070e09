"""`check: {command: {command, exit_code?, contains?, matches?}}`: run locally, compare the output."""

from __future__ import annotations

import re

from bcdrill.executors.base import Outcome, StepContext, process_tag
from bcdrill.executors.transport.process import run_process
from bcdrill.scenario.model import CommandProbe


def expectation_failure(
    exit_code: int | None, output: str, *, want_code: int, contains: str | None, matches: str | None
) -> str | None:
    """Why the expectations do not hold (None when they all do). Shared with the ssh probe."""
    last = next((ln.strip() for ln in reversed(output.splitlines()) if ln.strip()), "")
    tail = f" (last line: {last!r})" if last else " (no output)"
    if exit_code != want_code:
        return f"expected exit code {want_code}, got {exit_code}{tail}"
    if contains is not None and contains not in output:
        return f"expected the output to contain {contains!r}; it does not{tail}"
    if matches is not None and re.search(matches, output, re.MULTILINE) is None:
        return f"expected the output to match /{matches}/; it does not{tail}"
    return None


def probe_command(probe: CommandProbe, ctx: StepContext) -> Outcome:
    result = run_process(
        probe.command,
        log=ctx.log,
        deadline=ctx.deadline,
        cancel=ctx.cancel,
        capture=True,
        tag=process_tag(ctx),
    )
    if result.status == "timeout":
        return Outcome("timeout", "check command timed out; process group killed", None, result.last_line)
    if result.status == "cancelled":
        return Outcome("cancelled", "cancelled", None, result.last_line)
    why = expectation_failure(
        result.exit_code,
        result.output,
        want_code=probe.exit_code,
        contains=probe.contains,
        matches=probe.matches,
    )
    if why is not None:
        return Outcome("failed", why, result.exit_code, result.last_line)
    return Outcome("ok", "expectations met", result.exit_code, result.last_line)
