"""WeCom (企业微信) group robot: POST `…/cgi-bin/webhook/send?key=KEY` with
`{"msgtype": "markdown", "markdown": {"content": TEXT}}` (content at most 4096 bytes, UTF-8);
the answer is `{"errcode": 0, "errmsg": "ok"}`. A robot takes 20 messages a minute."""

from __future__ import annotations

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

MAX_CONTENT = 4096


class WeCom:
    def request(self, channel: NotifyChannel, batch: Batch, now: float) -> HttpRequest:
        _, text = markdown(batch.messages, batch.lang, batch.timezone, batch.drill)
        body = {"msgtype": "markdown", "markdown": {"content": cut(text, MAX_CONTENT)}}
        url = with_query(channel.url, {"key": channel.key or ""})
        return HttpRequest(url, json_body(body), {"Content-Type": "application/json"})

    def fits(self, batch: Batch) -> bool:
        return markdown_fits(batch, MAX_CONTENT)

    def accepted(self, status: int, body: bytes) -> str | None:
        return errcode_answer(status, body, ("errcode",), ("errmsg",))


PLATFORM = WeCom()
