"""A generic JSON webhook: POST `{"source": "bcdrill", "scenario", "run_id", "title", "text" (Markdown),
"messages": [{kind, title, ts, lines, link, team, step, system, severity, data}]}`. With a secret,
`X-Bcdrill-Timestamp: <Unix seconds>` and `<signature_header>: sha256=<hex HMAC-SHA256(secret,
f"{timestamp}." + body)>` let the receiver check origin and freshness. Any 2xx answer is accepted."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

from bcdrill.listeners.notify.base import Batch, HttpRequest, json_body
from bcdrill.listeners.notify.messages import markdown
from bcdrill.scenario.model import NotifyChannel

MAX_BODY = 256 * 1024
TIMESTAMP_HEADER = "X-Bcdrill-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _body(batch: Batch) -> bytes:
    title, text = markdown(batch.messages, batch.lang, batch.timezone, batch.drill)
    return json_body(
        {
            "source": "bcdrill",
            "scenario": batch.scenario,
            "run_id": batch.run_id,
            "title": title,
            "text": text,
            "messages": [dataclasses.asdict(m) | {"lines": list(m.lines)} for m in batch.messages],
        }
    )


class Webhook:
    def request(self, channel: NotifyChannel, batch: Batch, now: float) -> HttpRequest:
        body = _body(batch)
        headers = {"Content-Type": "application/json", **channel.headers}
        if channel.secret:
            ts = str(int(now))
            headers[TIMESTAMP_HEADER] = ts
            headers[channel.signature_header] = signature(channel.secret, ts, body)
        return HttpRequest(channel.url, body, headers)

    def fits(self, batch: Batch) -> bool:
        return len(batch.messages) == 1 or len(_body(batch)) <= MAX_BODY

    def accepted(self, status: int, body: bytes) -> str | None:
        if 200 <= status < 300:
            return None
        return f"HTTP {status}: {body[:200].decode('utf-8', errors='replace')}"


PLATFORM = Webhook()
