"""`check: {tcp: {host, port}}`: a TCP connection can be opened."""

from __future__ import annotations

import socket

from bcdrill.executors.base import Outcome, StepContext
from bcdrill.scenario.model import TcpProbe

CONNECT_TIMEOUT = 10.0  # seconds, at most; less when the step's deadline is nearer


def probe_tcp(probe: TcpProbe, ctx: StepContext) -> Outcome:
    remaining = ctx.remaining()
    timeout = CONNECT_TIMEOUT if remaining is None else min(CONNECT_TIMEOUT, remaining)
    if timeout <= 0:
        return Outcome("timeout", f"no time left to connect to {probe.host}:{probe.port}")
    where = f"{probe.host}:{probe.port}"
    try:
        with socket.create_connection((probe.host, probe.port), timeout=timeout):
            pass
    except TimeoutError:
        status = "timeout" if ctx.expired() else "failed"
        return Outcome(status, f"TCP connect to {where} timed out after {timeout:.1f}s")  # type: ignore[arg-type]
    except OSError as exc:
        return Outcome("failed", f"TCP connect to {where} failed: {exc.strerror or exc}")
    ctx.log.write(f"connected to {where}\n")
    return Outcome("ok", f"TCP {where} accepts connections")
