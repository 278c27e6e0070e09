"""Feishu / Lark (飞书) custom bot: POST to its webhook URL (`…/open-apis/bot/v2/hook/ID`) with
`{"timestamp": "S", "sign": "…", "msg_type": "post", "content": {"post": {"zh_cn"|"en_us": {"title": T,
"content": [[{"tag": "text", "text": …}], [{"tag": "a", "text": …, "href": …}]]}}}}`. With a signing
secret (签名校验), `timestamp` is the Unix time in seconds and `sign` = Base64 of HMAC-SHA256 with
key f"{timestamp}\\n{secret}" over an empty message. The answer is `{"code": 0, "msg": "success"}`
(older bots: `StatusCode`). Requests are at most 20 KB; a bot takes 100 a minute."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from bcdrill.listeners.notify.base import Batch, HttpRequest, errcode_answer, json_body
from bcdrill.listeners.notify.messages import digest_lines, local_time, phrase
from bcdrill.scenario.model import NotifyChannel

MAX_BODY = 18000
_ICONS = {"info": "", "warning": "⚠ ", "critical": "❗ "}


def sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _post(batch: Batch) -> dict[str, Any]:
    """The rich-text (`post`) content: one paragraph per line, links as `a` tags."""
    msgs = batch.messages
    if len(msgs) == 1:
        title = f"{_ICONS[msgs[0].severity]}{msgs[0].title}"
        rows: list[list[dict[str, str]]] = [
            [{"tag": "text", "text": f"{batch.drill} · {local_time(msgs[0].ts, batch.timezone)}"}]
        ]
        rows += [[{"tag": "text", "text": line}] for line in msgs[0].lines]
        if msgs[0].link:
            rows.append([{"tag": "a", "text": phrase("open", batch.lang), "href": msgs[0].link}])
    else:
        title = phrase("digest", batch.lang, count=len(msgs))
        rows = [[{"tag": "text", "text": batch.drill}]]
        for line in digest_lines(msgs, batch.lang, batch.timezone):
            row = [{"tag": "text", "text": f"{line.time} {line.icon}{line.text} "}]
            if line.link:
                row.append({"tag": "a", "text": phrase("console", batch.lang), "href": line.link})
            rows.append(row)
    locale = "zh_cn" if batch.lang == "zh" else "en_us"
    return {"post": {locale: {"title": title, "content": rows}}}


class Feishu:
    def request(self, channel: NotifyChannel, batch: Batch, now: float) -> HttpRequest:
        body: dict[str, Any] = {}
        if channel.secret:
            ts = int(now)
            body.update(timestamp=str(ts), sign=sign(channel.secret, ts))
        body.update(msg_type="post", content=_post(batch))
        return HttpRequest(channel.url, json_body(body), {"Content-Type": "application/json"})

    def fits(self, batch: Batch) -> bool:
        return len(batch.messages) == 1 or len(json_body(_post(batch))) <= MAX_BODY

    def accepted(self, status: int, body: bytes) -> str | None:
        return errcode_answer(status, body, ("code", "StatusCode"), ("msg", "StatusMessage"))


PLATFORM = Feishu()
