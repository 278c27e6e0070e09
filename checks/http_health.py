"""Stock check: an HTTP(S) endpoint answers with the expected status (and text).

check: {python: "checks/http_health.py:http_health", args: {url: "https://dr/health", contains: OK}}
"""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from typing import Any


def http_health(
    url: str,
    status: int = 200,
    contains: str | None = None,
    timeout: float = 10.0,
    verify_tls: bool = True,
) -> dict[str, Any]:
    """GET `url`; ok when the status is `status` and the body contains `contains` (if given)."""
    context = None if verify_tls else ssl._create_unverified_context()
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            code, body = response.status, response.read(1 << 20)
    except urllib.error.HTTPError as exc:
        code, body = exc.code, exc.read(1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return {"ok": False, "detail": f"GET {url} failed: {reason}", "observed": {}}
    elapsed = round(time.monotonic() - started, 3)
    text = body.decode("utf-8", "replace")
    observed = {"status": code, "seconds": elapsed}
    if code != status:
        return {
            "ok": False,
            "detail": f"GET {url}: expected status {status}, observed {code}",
            "observed": observed,
        }
    if contains is not None and contains not in text:
        detail = f"GET {url}: expected the body to contain {contains!r}, observed {text[:120]!r}"
        return {"ok": False, "detail": detail, "observed": observed}
    return {"ok": True, "detail": f"GET {url}: {code} in {elapsed:.3f}s", "observed": observed}
