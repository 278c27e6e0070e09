"""Check probes, one small module each, looked up by kind ("module:function", imported on first use).

Each is `(probe, ctx: StepContext) -> Outcome`: ok when the expectation holds, failed with
a precise "expected … observed …" detail otherwise; timeout when `ctx.deadline` passes.
"""

from __future__ import annotations

PROBES: dict[str, str] = {
    "http": "bcdrill.executors.probes.http:probe_http",
    "tcp": "bcdrill.executors.probes.tcp:probe_tcp",
    "command": "bcdrill.executors.probes.command:probe_command",
    "smtp": "bcdrill.executors.probes.smtp:probe_smtp",
    "ssh": "bcdrill.executors.probes.ssh:probe_ssh",
    "python": "bcdrill.executors.probes.python:probe_python",
}
