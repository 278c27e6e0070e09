"""Stock check: a TCP port accepts connections.

check: {python: "checks/tcp_port.py:tcp_port", args: {host: dr-db-1, port: 5432}}
"""

from __future__ import annotations

import socket
import time
from typing import Any


def tcp_port(host: str, port: int, timeout: float = 5.0) -> dict[str, Any]:
    """ok when a TCP connection to host:port opens within `timeout` seconds."""
    started = time.monotonic()
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            peer = sock.getpeername()[0]
    except TimeoutError:
        return {"ok": False, "detail": f"{host}:{port}: no answer within {timeout:.1f}s", "observed": {}}
    except OSError as exc:
        return {"ok": False, "detail": f"{host}:{port}: {exc.strerror or exc}", "observed": {}}
    elapsed = round(time.monotonic() - started, 4)
    observed = {"address": peer, "seconds": elapsed}
    return {"ok": True, "detail": f"{host}:{port} accepts connections ({peer})", "observed": observed}
