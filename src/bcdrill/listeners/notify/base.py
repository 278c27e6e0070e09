"""What every platform module provides: the HTTP request of a batch of messages, and whether the
platform accepted it. One module per platform (`wecom`, `dingtalk`, `feishu`, `webhook`), each
declaring `PLATFORM: Platform`; `PLATFORMS` in `registry.py` maps the scenario's key to it."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bcdrill.listeners.notify.messages import Lang, Message, markdown
from bcdrill.scenario.model import NotifyChannel


@dataclass(frozen=True)
class Batch:
    """The messages one request carries (one, or a digest of several) and how to word them."""

    messages: Sequence[Message]
    lang: Lang = "en"
    timezone: str = "UTC"
    drill: str = ""  # the drill's title
    scenario: str = ""  # its name
    run_id: str = ""


@dataclass(frozen=True)
class HttpRequest:
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Platform(Protocol):
    def request(self, channel: NotifyChannel, batch: Batch, now: float) -> HttpRequest:
        """The POST that sends `batch` at Unix time `now` (signatures are computed for `now`)."""
        ...

    def fits(self, batch: Batch) -> bool:
        """Whether `batch` is within the platform's size limit (a single message always is: it is cut)."""
        ...

    def accepted(self, status: int, body: bytes) -> str | None:
        """None when the platform took the message; otherwise why not (for `notify.failed`)."""
        ...


def json_body(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cut(text: str, max_bytes: int) -> str:
    """`text` within `max_bytes` UTF-8 bytes, ending with … when it had to be cut."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


def errcode_answer(
    status: int, body: bytes, code_keys: tuple[str, ...], msg_keys: tuple[str, ...]
) -> str | None:
    """The usual robot answer: HTTP 200 with `{"errcode": 0}` (or `code`) means accepted."""
    if status != 200:
        return f"HTTP {status}: {body[:200].decode('utf-8', errors='replace')}"
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return f"HTTP 200 but not JSON: {body[:200].decode('utf-8', errors='replace')}"
    if not isinstance(answer, dict):
        return "HTTP 200 but not a JSON object"
    code = next((answer[k] for k in code_keys if k in answer), None)
    if code == 0:
        return None
    msg = next((answer[k] for k in msg_keys if k in answer), "")
    return f"refused: {code_keys[0]} {code}: {msg}"


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to its query (robots' keys and signatures travel there)."""
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)


def markdown_fits(batch: Batch, max_bytes: int) -> bool:
    """A platform's `fits` when its message is the batch's Markdown text, at most `max_bytes` UTF-8."""
    _, text = markdown(batch.messages, batch.lang, batch.timezone, batch.drill)
    return len(batch.messages) == 1 or len(text.encode("utf-8")) <= max_bytes
