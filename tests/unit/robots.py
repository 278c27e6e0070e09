"""A stand-in for the chat platforms' robot endpoints (WeCom, DingTalk, Feishu) and a webhook receiver,
for tests: a real HTTP server on 127.0.0.1 that checks each request the way the platform documents
it — the key/access_token, the signature (DingTalk: HMAC-SHA256(secret, f"{ms}\\n{secret}") in the
query; Feishu: HMAC-SHA256 keyed with f"{s}\\n{secret}" over nothing, in the body; webhook:
sha256=HMAC(secret, f"{s}." + body) in a header), the timestamp's freshness, the payload shape and
the size limits — answers like the platform (`errcode`/`code`), and refuses more than `per_minute`
requests in any 60 s, as WeCom and DingTalk do. The real platforms cannot be reached from tests.

Paths: /wecom (key=…), /dingtalk (access_token=…), /feishu/hook/<id>, /webhook.
`mode` switches the server to `hang` (never answers) or `down` (HTTP 500).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from servers import serve

WECOM_KEY = "wk-0123456789abcdef"
DINGTALK_TOKEN = "dt-token-abcdef0123456789"
DINGTALK_SECRET = "SEC-dingtalk-secret-0123456789"
FEISHU_HOOK = "fs-hook-0123456789abcdef"
FEISHU_SECRET = "feishu-secret-0123456789"
WEBHOOK_SECRET = "webhook-hmac-secret-0123456789"


@dataclass
class Received:
    platform: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float  # monotonic
    problems: list[str] = field(default_factory=list)


@dataclass
class Robots:
    """What the server saw and how it behaves."""

    per_minute: int = 20
    mode: str = "ok"  # ok | hang | down
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)  # ends `hang`

    def of(self, platform: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.platform == platform]

    def problems(self) -> list[str]:
        with self.lock:
            return [f"{r.platform}: {p}" for r in self.received for p in r.problems]


def _check_wecom(query: dict[str, str], body: dict[str, Any]) -> list[str]:
    out = [] if query.get("key") == WECOM_KEY else [f"bad key {query.get('key')!r}"]
    kind = body.get("msgtype")
    if kind not in ("markdown", "text") or not isinstance(body.get(kind), dict):
        return [*out, f"bad msgtype {kind!r}"]
    content = body[kind].get("content")
    limit = 4096 if kind == "markdown" else 2048
    if not isinstance(content, str) or not content or len(content.encode()) > limit:
        out.append(f"{kind}.content missing or over {limit} bytes")
    return out


def _check_dingtalk(query: dict[str, str], body: dict[str, Any]) -> list[str]:
    out = [] if query.get("access_token") == DINGTALK_TOKEN else ["bad access_token"]
    ts = query.get("timestamp", "")
    if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 3600_000:
        out.append(f"bad or stale timestamp {ts!r}")
    else:
        mac = hmac.new(DINGTALK_SECRET.encode(), f"{ts}\n{DINGTALK_SECRET}".encode(), hashlib.sha256)
        if query.get("sign") != base64.b64encode(mac.digest()).decode():
            out.append("bad sign")
    kind = body.get("msgtype")
    if kind == "markdown":
        md = body.get("markdown") or {}
        if not isinstance(md.get("title"), str) or not isinstance(md.get("text"), str) or not md["text"]:
            out.append("markdown needs title and text")
    elif kind != "text" or not isinstance((body.get("text") or {}).get("content"), str):
        out.append(f"bad msgtype {kind!r}")
    return out


def _check_feishu(path: str, body: dict[str, Any]) -> list[str]:
    out = [] if path.endswith("/" + FEISHU_HOOK) else ["bad hook id"]
    ts = body.get("timestamp")
    if not isinstance(ts, str) or not ts.isdigit() or abs(int(ts) - time.time()) > 3600:
        out.append(f"bad or stale timestamp {ts!r}")
    else:
        mac = hmac.new(f"{ts}\n{FEISHU_SECRET}".encode(), b"", hashlib.sha256)
        if body.get("sign") != base64.b64encode(mac.digest()).decode():
            out.append("bad sign")
    kind, content = body.get("msg_type"), body.get("content")
    if kind == "text":
        if not isinstance((content or {}).get("text"), str):
            out.append("text needs content.text")
    elif kind == "post":
        post = (content or {}).get("post") or {}
        locale = next(iter(post.values()), None) if isinstance(post, dict) else None
        if not isinstance(locale, dict) or not isinstance(locale.get("content"), list):
            out.append("post needs content.post.<locale>.content")
    else:
        out.append(f"bad msg_type {kind!r}")
    if len(json.dumps(body, ensure_ascii=False).encode()) > 20 * 1024:
        out.append("request over 20 KB")
    return out


def _check_webhook(headers: dict[str, str], raw: bytes, body: dict[str, Any]) -> list[str]:
    ts = headers.get("x-bcdrill-timestamp", "")
    mac = hmac.new(WEBHOOK_SECRET.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    out = [] if headers.get("x-bcdrill-signature") == f"sha256={mac}" else ["bad signature"]
    if not isinstance(body.get("messages"), list) or not body["messages"] or body.get("source") != "bcdrill":
        out.append("no messages")
    return out


class _Handler(BaseHTTPRequestHandler):
    robots: Robots

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        robots = self.robots
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if robots.mode == "hang":
            robots.release.wait(120)
            return
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        platform = url.path.strip("/").split("/")[0]
        checks = {
            "wecom": lambda: _check_wecom(query, body),
            "dingtalk": lambda: _check_dingtalk(query, body),
            "feishu": lambda: _check_feishu(url.path, body),
            "webhook": lambda: _check_webhook(headers, raw, body),
        }
        problems = checks[platform]() if platform in checks else [f"unknown path {url.path}"]
        now = time.monotonic()
        with robots.lock:
            recent = [r for r in robots.received if r.platform == platform and r.at > now - 60]
            if len(recent) >= robots.per_minute and platform in ("wecom", "dingtalk"):
                problems.append(f"more than {robots.per_minute} messages in a minute")
            robots.received.append(Received(platform, url.path, body, headers, now, problems))
        self._answer(platform, problems)

    def _answer(self, platform: str, problems: list[str]) -> None:
        if self.robots.mode == "down":
            status, answer = 500, {"error": "down"}
        elif platform == "feishu":
            status, answer = 200, {"code": 19021 if problems else 0, "msg": "; ".join(problems) or "success"}
        elif platform == "webhook":
            status, answer = (401 if problems else 200), {"ok": not problems}
        else:
            status, answer = 200, {"errcode": 40001 if problems else 0, "errmsg": "; ".join(problems) or "ok"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def robots_server(robots: Robots) -> Iterator[int]:
    """Serve `robots` on a free 127.0.0.1 port; yield the port."""
    handler = type("Handler", (_Handler,), {"robots": robots})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    try:
        yield from serve(server)
    finally:
        robots.release.set()


def notify_yaml(
    port: int,
    *,
    teams: bool = True,
    extra: str = "",
    console_url: str | None = "http://127.0.0.1:8470",
    timeout: str = "2s",
) -> str:
    """A `notify:` section sending to the four stand-in robots (secrets through --var: see VARS)."""
    base = f"http://127.0.0.1:{port}"
    team = "\n      teams: [ops]" if teams else ""
    link = f"\n  console_url: {console_url}" if console_url else ""
    return f"""\
notify:{link}
  timeout: {timeout}{extra}
  channels:
    wecom-ops:
      wecom: {{key: "{{{{ wecom_key }}}}", url: "{base}/wecom"}}{team}
    dingtalk-room:
      dingtalk:
        access_token: "{{{{ dingtalk_token }}}}"
        secret: "{{{{ dingtalk_secret }}}}"
        url: "{base}/dingtalk"
    feishu-room:
      feishu:
        webhook: "{base}/feishu/hook/{{{{ feishu_hook }}}}"
        secret: "{{{{ feishu_secret }}}}"
    soc:
      webhook: {{url: "{base}/webhook", secret: "{{{{ webhook_secret }}}}"}}
"""


VARS = {
    "wecom_key": WECOM_KEY,
    "dingtalk_token": DINGTALK_TOKEN,
    "dingtalk_secret": DINGTALK_SECRET,
    "feishu_hook": FEISHU_HOOK,
    "feishu_secret": FEISHU_SECRET,
    "webhook_secret": WEBHOOK_SECRET,
}
