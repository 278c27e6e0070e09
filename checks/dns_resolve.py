"""Stock check: a name resolves (to the expected address), e.g. after a DNS switch to the DR site.

check: {python: "checks/dns_resolve.py:dns_resolve", args: {name: www.example.com, expect: 10.2.0.10}}
"""

from __future__ import annotations

import socket
import threading
from typing import Any


def dns_resolve(name: str, expect: str | list[str] | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """Resolve `name` with the system resolver (socket.getaddrinfo); ok when it resolves and, if
    `expect` is given, one of the expected addresses is among the answers."""
    box: dict[str, Any] = {}

    def resolve() -> None:
        try:
            box["infos"] = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            box["error"] = exc

    worker = threading.Thread(target=resolve, daemon=True)  # getaddrinfo has no timeout of its own
    worker.start()
    worker.join(timeout)
    if not box:
        return {"ok": False, "detail": f"resolving {name} took longer than {timeout:.1f}s", "observed": {}}
    if "error" in box:
        error = box["error"]
        return {"ok": False, "detail": f"cannot resolve {name}: {error.strerror or error}", "observed": {}}
    addresses = sorted({str(info[4][0]) for info in box["infos"]})
    observed = {"addresses": addresses}
    wanted = [expect] if isinstance(expect, str) else list(expect or [])
    if wanted and not set(wanted) & set(addresses):
        detail = f"{name}: expected {' or '.join(wanted)}, observed {', '.join(addresses)}"
        return {"ok": False, "detail": detail, "observed": observed}
    return {"ok": True, "detail": f"{name} -> {', '.join(addresses)}", "observed": observed}
