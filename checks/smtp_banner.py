"""Stock check: an SMTP server greets with 220 (and, optionally, a banner containing some text).

check: {python: "checks/smtp_banner.py:smtp_banner", args: {host: mail.dr, contains: ESMTP}}
"""

from __future__ import annotations

import socket
from typing import Any


def smtp_banner(
    host: str, port: int = 25, contains: str | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """Read the greeting (all lines of a multi-line 220); send QUIT; ok when it is 220 [and contains]."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            banner = _read_reply(sock.makefile("rb"))
            sock.sendall(b"QUIT\r\n")
    except TimeoutError:
        return {"ok": False, "detail": f"{host}:{port}: no SMTP banner within {timeout:.1f}s", "observed": {}}
    except OSError as exc:
        return {"ok": False, "detail": f"{host}:{port}: {exc.strerror or exc}", "observed": {}}
    observed = {"banner": banner}
    if not banner.startswith("220"):
        return {
            "ok": False,
            "detail": f"{host}:{port}: expected 220, observed {banner!r}",
            "observed": observed,
        }
    if contains is not None and contains not in banner:
        detail = f"{host}:{port}: expected the banner to contain {contains!r}, observed {banner!r}"
        return {"ok": False, "detail": detail, "observed": observed}
    return {"ok": True, "detail": f"{host}:{port}: {banner}", "observed": observed}


def _read_reply(stream: Any) -> str:
    lines = []
    while True:
        line = stream.readline(1024).decode("utf-8", "replace").rstrip("\r\n")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":  # "220-..." continues, "220 ..." ends
            return " ".join(lines)
