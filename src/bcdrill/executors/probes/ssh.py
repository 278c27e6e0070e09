"""`check: {ssh: {host, command, exit_code?, contains?, matches?}}`: a read-only remote command."""

from __future__ import annotations

import re

from bcdrill.executors.base import Outcome, StepContext
from bcdrill.executors.transport.sshexec import RemoteResult, connect_failure, run_remote, stopped_outcome
from bcdrill.executors.transport.sshpool import SshError, resolve_target
from bcdrill.scenario.model import SshProbe


def probe_ssh(probe: SshProbe, ctx: StepContext) -> Outcome:
    target = resolve_target(ctx.scenario.hosts, probe.host)
    try:
        result = run_remote(ctx, target, probe.command, capture=True)
    except SshError as exc:
        return connect_failure(exc, ctx)
    if result.status != "ok":
        return stopped_outcome(result, target, ctx)
    problems = expectation_problems(probe, result)
    observed = {"exit_code": result.exit_code, "last_line": result.last_line}
    if problems:
        detail = f"{'; '.join(problems)} (on {target.label})"
        return Outcome("failed", detail, result.exit_code, result.last_line, observed)
    return Outcome("ok", f"{_summary(probe)} on {target.label}", result.exit_code, result.last_line, observed)


def expectation_problems(probe: SshProbe, result: RemoteResult) -> list[str]:
    """Every unmet expectation as "expected … observed …" (empty when all hold)."""
    problems = []
    last = repr(result.last_line) if result.last_line else "no output"
    if result.exit_code != probe.exit_code:
        observed = "no exit status" if result.exit_code is None else f"{result.exit_code}"
        problems.append(f"expected exit code {probe.exit_code}, observed {observed} (last line: {last})")
    if probe.contains is not None and probe.contains not in result.output:
        problems.append(f"expected the output to contain {probe.contains!r}, observed last line {last}")
    if probe.matches is not None and not re.search(probe.matches, result.output, re.MULTILINE):
        problems.append(f"expected the output to match /{probe.matches}/, observed last line {last}")
    return problems


def _summary(probe: SshProbe) -> str:
    parts = [f"exit code {probe.exit_code}"]
    if probe.contains is not None:
        parts.append(f"output contains {probe.contains!r}")
    if probe.matches is not None:
        parts.append(f"output matches /{probe.matches}/")
    return ", ".join(parts)
