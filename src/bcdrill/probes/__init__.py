"""Check probes, one small module each, looked up by kind ("module:function", imported on first use).

Each is `(probe, ctx: StepContext) -> Outcome`: ok when the expectation holds, failed with
a precise "expected … observed …" detail otherwise; timeout when `ctx.deadline` passes.
"""

from __future__ import annotations

PROBES: dict[str, str] = {
    "http": "bcdrill.probes.http:probe_http",
    "tcp": "bcdrill.probes.tcp:probe_tcp",
    "command": "bcdrill.probes.command:probe_command",
    "smtp": "bcdrill.probes.smtp:probe_smtp",
    "ssh": "bcdrill.probes.ssh:probe_ssh",
    "python": "bcdrill.probes.python:probe_python",
}
