"""`check: {http: {url, method?, status?, contains?, json?}}` with urllib (no extra dependency).

`json` maps dotted paths (`data.items[0].state`, or `data.items.0.state`) to expected
values. Redirects are followed only to http/https URLs. The request timeout is the
time left before the step's deadline, capped at REQUEST_TIMEOUT.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from bcdrill.executors.base import Outcome, StepContext
from bcdrill.scenario.model import HttpProbe

REQUEST_TIMEOUT = 30.0
BODY_LIMIT = 1_000_000
_MISSING = object()


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if not newurl.lower().startswith(("http://", "https://")):
            raise urllib.error.HTTPError(newurl, code, f"refused redirect to {newurl}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def json_path(doc: Any, path: str) -> Any:
    """The value at a dotted path with list indices; `_MISSING` when absent."""
    node = doc
    for part in re.findall(r"[^.\[\]]+", path):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _fetch(probe: HttpProbe, timeout: float) -> tuple[int, str]:
    if not probe.url.lower().startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {probe.url}")
    opener = urllib.request.build_opener(_SafeRedirects())
    request = urllib.request.Request(probe.url, method=probe.method.upper())
    try:
        with opener.open(request, timeout=timeout) as resp:
            return int(resp.status), resp.read(BODY_LIMIT).decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        body = err.read(BODY_LIMIT).decode("utf-8", "replace") if err.fp is not None else ""
        return int(err.code), body


def _judge(probe: HttpProbe, status: int, body: str) -> str | None:
    if probe.status is not None and status != probe.status:
        return f"HTTP {status} from {probe.url}, expected {probe.status}"
    if probe.contains is not None and probe.contains not in body:
        return f"HTTP {status} from {probe.url}: the body does not contain {probe.contains!r}"
    if not probe.json:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return f"HTTP {status} from {probe.url}: the body is not JSON"
    for path, want in probe.json.items():
        got = json_path(doc, path)
        if got is _MISSING:
            return f"JSON {path} is missing in the response of {probe.url}, expected {want!r}"
        if got != want:
            return f"JSON {path} is {got!r} in the response of {probe.url}, expected {want!r}"
    return None


def probe_http(probe: HttpProbe, ctx: StepContext) -> Outcome:
    remaining = ctx.remaining()
    timeout = min(x for x in (probe.timeout, REQUEST_TIMEOUT, remaining) if x is not None)
    if timeout <= 0:
        return Outcome("timeout", f"no time left to request {probe.url}")
    try:
        status, body = _fetch(probe, timeout)
    except TimeoutError:
        kind = "timeout" if ctx.expired() else "failed"
        return Outcome(kind, f"no answer from {probe.url} within {timeout:.1f}s")  # type: ignore[arg-type]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome("failed", f"cannot reach {probe.url}: {reason}")
    ctx.log.write(f"{probe.method.upper()} {probe.url} -> HTTP {status}\n")
    why = _judge(probe, status, body)
    observed = {"status": status}
    if why is not None:
        return Outcome("failed", why, observed=observed)
    return Outcome("ok", f"HTTP {status} from {probe.url}", observed=observed)
