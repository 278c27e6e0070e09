"""The user-facing protocol of each system: HTTP records, an object store, SMTP and a transaction API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Protocol

from bcdrill.lab.httpd import Handler, Request, Response, json_response, start_http
from bcdrill.lab.smtp import smtp_session
from bcdrill.lab.store import Record, Store


class Service(Protocol):
    """What a protocol server needs from its instance."""

    store: Store
    kind: str

    def refusal(self, write: bool) -> str | None: ...  # why a request is refused (None: serve it)
    def health(self) -> dict[str, object]: ...


def _public(rec: Record) -> dict[str, object]:
    return {k: rec[k] for k in ("id", "ts", "origin", "kind", "key")}


async def _common(svc: Service, req: Request) -> Response | None:
    if req.method == "GET" and req.path == "/health":
        health = svc.health()
        return json_response(503 if svc.refusal(False) else 200, health)
    if req.method == "GET" and req.path == "/newest":
        return json_response(200, {"newest": svc.store.newest(), "count": len(svc.store.records)})
    refusal = svc.refusal(req.method in ("POST", "PUT", "DELETE"))
    if refusal:
        return json_response(503, {"error": refusal})
    return None


def records_handler(svc: Service) -> Handler:
    async def handle(req: Request) -> Response:
        early = await _common(svc, req)
        if early is not None:
            return early
        if req.method == "POST" and req.path == "/records":
            data = req.json()
            rec = svc.store.create(svc.kind, data.get("key"), json.dumps(data, ensure_ascii=False))
            return json_response(201, _public(rec))
        if req.method == "GET" and req.path.startswith("/records/"):
            found = svc.store.get(req.path.removeprefix("/records/"))
            if found is None:
                return json_response(404, {"error": "no such record"})
            return json_response(200, {**_public(found), "body": found["body"]})
        return json_response(404, {"error": f"no route {req.method} {req.path}"})

    return handle


def objects_handler(svc: Service) -> Handler:
    async def handle(req: Request) -> Response:
        early = await _common(svc, req)
        if early is not None:
            return early
        key = req.path.removeprefix("/objects/")
        if not req.path.startswith("/objects/") or not key:
            return json_response(404, {"error": f"no route {req.method} {req.path}"})
        if req.method == "PUT":
            rec = svc.store.create(svc.kind, key, base64.b64encode(req.body).decode())
            return json_response(201, {**_public(rec), "sha256": hashlib.sha256(req.body).hexdigest()})
        found = svc.store.get(key)
        if req.method != "GET" or found is None:
            return json_response(404 if found is None else 405, {})
        return Response(200, base64.b64decode(found["body"]), "application/octet-stream")

    return handle


async def start_service(svc: Service, protocol: str, host: str, port: int) -> asyncio.Server:
    if protocol == "http":
        return await start_http(records_handler(svc), host, port)
    if protocol == "object":
        return await start_http(objects_handler(svc), host, port)
    if protocol == "smtp":
        return await asyncio.start_server(
            lambda r, w: smtp_session(svc, r, w), host, port, reuse_address=True
        )
    return await asyncio.start_server(lambda r, w: txn_session(svc, r, w), host, port, reuse_address=True)


async def txn_session(svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """MCDE transaction API: one JSON request a line, one JSON response a line."""
    try:
        while line := await asyncio.wait_for(reader.readline(), 30):
            writer.write((json.dumps(_txn(svc, line), ensure_ascii=False) + "\n").encode())
            await writer.drain()
    except (OSError, ValueError, asyncio.TimeoutError):
        pass
    finally:
        writer.close()


def _txn(svc: Service, line: bytes) -> dict[str, object]:
    try:
        req = json.loads(line)
        op = req.get("op")
    except (ValueError, AttributeError):
        return {"ok": False, "error": "bad request: expected a JSON object"}
    if op == "ping":
        refusal = svc.refusal(False)
        return {"ok": refusal is None, "error": refusal, **svc.health()}
    refusal = svc.refusal(op == "submit")
    if refusal:
        return {"ok": False, "error": refusal}
    if op == "submit":
        body = req.get("txn", {})
        rec = svc.store.create(svc.kind, body.get("key"), json.dumps(body, ensure_ascii=False))
        return {"ok": True, **_public(rec)}
    if op == "get":
        found = svc.store.get(str(req.get("id", "")))
        return {"ok": found is not None, **({"body": found["body"], **_public(found)} if found else {})}
    return {"ok": False, "error": f"unknown op {op!r}"}
