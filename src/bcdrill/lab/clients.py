"""Business writes and reads in each system's own protocol (used by the workload and the checks)."""

from __future__ import annotations

import http.client
import json
import os
import smtplib
import socket
import time
import uuid
from email.message import EmailMessage
from typing import Any

from bcdrill.lab.config import SystemLayout


class WriteRefused(Exception):
    """The service answered but refused the write (read-only standby, outage, ...)."""


def _http(host: str, port: int, method: str, path: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _payload(cfg: SystemLayout, key: str) -> dict[str, Any]:
    return {
        "key": key,
        "kind": cfg.kind,
        "amount": int.from_bytes(os.urandom(2), "big"),
        "written_at": time.time(),
    }


def write(cfg: SystemLayout, host: str, port: int, *, timeout: float = 2.0) -> str:
    """One business write (a policy, an order, a mail, an image, a transaction); returns its key."""
    key = f"{cfg.kind}-{uuid.uuid4().hex[:12]}"
    if cfg.protocol == "http":
        status, body = _http(host, port, "POST", "/records", json.dumps(_payload(cfg, key)).encode(), timeout)
    elif cfg.protocol == "object":
        status, body = _http(host, port, "PUT", f"/objects/{key}", os.urandom(2048), timeout)
    elif cfg.protocol == "txn":
        return _txn_submit(cfg, host, port, key, timeout)
    else:
        return _send_mail(host, port, key, timeout)
    if status != 201:
        raise WriteRefused(f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
    return key


def _txn_submit(cfg: SystemLayout, host: str, port: int, key: str, timeout: float) -> str:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall((json.dumps({"op": "submit", "txn": _payload(cfg, key)}) + "\n").encode())
        answer = json.loads(sock.makefile("rb").readline() or b"{}")
    if not answer.get("ok"):
        raise WriteRefused(str(answer.get("error", "no answer")))
    return key


def _send_mail(host: str, port: int, key: str, timeout: float) -> str:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "drill@lab.invalid", "ops@lab.invalid", key
    msg.set_content(f"business continuity drill message {key}\n")
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.send_message(msg)
    except smtplib.SMTPException as exc:
        raise WriteRefused(str(exc)) from None
    return key
