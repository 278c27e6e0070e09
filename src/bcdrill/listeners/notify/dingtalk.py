"""DingTalk (钉钉) custom robot: POST `…/robot/send?access_token=TOKEN&timestamp=MS&sign=SIGN` with
`{"msgtype": "markdown", "markdown": {"title": T, "text": TEXT}}`. With a signing secret (加签),
`timestamp` is the Unix time in milliseconds and `sign` = URL-encoded Base64 of
HMAC-SHA256(key=secret, message=f"{timestamp}\\n{secret}"); DingTalk refuses a timestamp more than an
hour off. The answer is `{"errcode": 0, "errmsg": "ok"}`. A robot takes 20 messages a minute."""

from __future__ import annotations

import base64
import hashlib
import hmac

from bcdrill.listeners.notify.base import (
    Batch,
    HttpRequest,
    cut,
    errcode_answer,
    json_body,
    markdown_fits,
    with_query,
)
from bcdrill.listeners.notify.messages import markdown
from bcdrill.scenario.model import NotifyChannel

MAX_TEXT = 15000


def sign(secret: str, timestamp_ms: int) -> str:
    """The Base64 signature (before URL encoding) of `timestamp_ms` with `secret`."""
    text = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), text, hashlib.sha256).digest()).decode()


class DingTalk:
    def request(self, channel: NotifyChannel, batch: Batch, now: float) -> HttpRequest:
        title, text = markdown(batch.messages, batch.lang, batch.timezone, batch.drill)
        body = {"msgtype": "markdown", "markdown": {"title": title[:64], "text": cut(text, MAX_TEXT)}}
        params = {"access_token": channel.key or ""}
        if channel.secret:
            ms = int(now * 1000)
            params.update(timestamp=str(ms), sign=sign(channel.secret, ms))
        url = with_query(channel.url, params)
        return HttpRequest(url, json_body(body), {"Content-Type": "application/json"})

    def fits(self, batch: Batch) -> bool:
        return markdown_fits(batch, MAX_TEXT)

    def accepted(self, status: int, body: bytes) -> str | None:
        return errcode_answer(status, body, ("errcode",), ("errmsg",))


PLATFORM = DingTalk()
