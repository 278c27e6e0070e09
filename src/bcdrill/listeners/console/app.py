"""The console's HTTP API and page (Starlette). Routes (docs/console.md has examples):

GET  /                              the page (no data in it: it signs in with the link's token)
GET  /assets/{name}                 its script and style sheet
POST /api/session                   Bearer token -> HttpOnly session cookie + CSRF token
GET  /api/session                   who the cookie's session is (and its CSRF token)
DELETE /api/session                 sign out
GET  /api/state                     the whole state (views.py)
GET  /api/events                    the event stream (SSE): `state` first, then `update`s
POST /api/steps/{step}/ack          {result: pass|fail|not_tested, note, evidence: [sha256]}
POST /api/steps/{step}/evidence     the file as the body; X-File-Name: its name (URL-encoded)
POST /api/steps/{step}/skip         {reason}            commander, a waiting step
POST /api/steps/{step}/retry        {reason}            commander, a failed step (drill resume)
POST /api/steps/{step}/mark-done    {reason}            commander, in flight at a crash (resume)
POST /api/hold, /api/continue       {reason}            commander

Every API request is authenticated (auth.py); a refusal is JSON `{"error": message}` with its
status; an unexpected exception is a 500 whose log line names its type only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bcdrill.listeners.console import actions
from bcdrill.listeners.console.auth import COOKIE, Caller, Refused, authenticate, check_rate, client_of
from bcdrill.listeners.console.hub import Hub, dumps
from bcdrill.listeners.console.tokens import SESSION_TTL, Keyring
from bcdrill.run.requests import store_evidence

MAX_JSON = 64 * 1024
MAX_EVIDENCE = 25 * 1024 * 1024
ACK_SETTLE = 3.0  # seconds an ack request waits to see its acknowledgement journaled (then 202)
PING = 15.0
ASSETS = Path(__file__).parent / "assets"
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
Handler = Callable[[Request], Awaitable[Response]]


class Console:
    """The app's shared objects."""

    def __init__(self, hub: Hub, keyring: Keyring, *, secure: bool, log: Callable[[str], None]) -> None:
        self.hub = hub
        self.keyring = keyring
        self.secure = secure
        self.log = log
        self.stop: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def run_dir(self) -> Path:
        return self.hub.run_dir

    def shutdown(self) -> None:
        """End the event streams (thread-safe) so that the server can stop at once."""
        if self.loop is not None and self.stop is not None:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.stop.set)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers=headers)


def guarded(console: Console, fn: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except Refused as exc:
            return _error(exc.status, exc.message, exc.headers)
        except Exception as exc:  # a bug: no traceback to the client, one line to the log
            console.log(f"internal error in {request.method} {request.url.path}: {type(exc).__name__}")
            return _error(500, "internal error of the console")

    return endpoint


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise Refused(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _asset(name: str) -> tuple[bytes, str]:
    types = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}
    path = ASSETS / name
    return path.read_bytes(), types.get(path.suffix, "application/octet-stream")


def routes(c: Console) -> list[Route]:
    page = _asset("index.html")
    assets = {name: _asset(name) for name in ("app.js", "style.css")}

    async def index(request: Request) -> Response:
        return Response(page[0], media_type=page[1], headers={"cache-control": "no-store"})

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            raise Refused(404, "no such asset")
        return Response(found[0], media_type=found[1])

    def caller(request: Request, *, changes: bool) -> Caller:
        return authenticate(request, c.keyring, changes=changes)

    async def session_open(request: Request) -> Response:
        check_rate(c.keyring, client_of(request))
        if "authorization" not in request.headers:
            raise Refused(401, "send the personal token as Authorization: Bearer TOKEN")
        who = caller(request, changes=False)
        sid, session = c.keyring.open_session(who.person)
        response = JSONResponse({"you": who.person.json(), "csrf": session.csrf})
        response.set_cookie(
            COOKIE, sid, max_age=int(SESSION_TTL), httponly=True, samesite="strict", secure=c.secure, path="/"
        )
        return response

    async def session_show(request: Request) -> Response:
        who = caller(request, changes=False)
        return JSONResponse({"you": who.person.json(), "csrf": who.csrf})

    async def session_close(request: Request) -> Response:
        caller(request, changes=True)
        c.keyring.close_session(request.cookies.get(COOKIE, ""))
        response = JSONResponse({"signed_out": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    async def state(request: Request) -> Response:
        who = caller(request, changes=False)
        await asyncio.to_thread(c.hub.catch_up)
        body = await asyncio.to_thread(c.hub.full)
        body["you"] = who.person.json()
        return Response(dumps(body), media_type="application/json", headers={"cache-control": "no-store"})

    async def events(request: Request) -> Response:
        who = caller(request, changes=False)
        queue = c.hub.subscribe()
        first = await asyncio.to_thread(c.hub.full)
        first["you"], first["sent_at"] = who.person.json(), time.time()
        return StreamingResponse(
            _stream(c.hub, queue, dumps(first)),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    return [
        Route("/", index),
        Route("/assets/{name}", guarded(c, asset)),
        Route("/api/session", guarded(c, session_open), methods=["POST"]),
        Route("/api/session", guarded(c, session_show), methods=["GET"]),
        Route("/api/session", guarded(c, session_close), methods=["DELETE"]),
        Route("/api/state", guarded(c, state)),
        Route("/api/events", guarded(c, events)),
        *action_routes(c, caller),
    ]


async def _stream(hub: Hub, queue: asyncio.Queue[str | None], first: str) -> AsyncIterator[str]:
    try:
        yield f"retry: 2000\nevent: state\ndata: {first}\n\n"
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), PING)
            except asyncio.TimeoutError:
                yield ": ping\n\n"
                continue
            if message is None:
                return
            yield message
    finally:
        hub.unsubscribe(queue)


def action_routes(c: Console, caller: Callable[..., Caller]) -> list[Route]:
    async def body_of(request: Request) -> dict[str, Any]:
        return actions.parse_body(await read_body(request, MAX_JSON))

    async def ack(request: Request) -> Response:
        who = caller(request, changes=True)
        step = request.path_params["step"]
        body = await body_of(request)
        checked = c.hub.read(lambda s: actions.check_ack(s, who, step, body))
        before = c.hub.read(lambda s: len(s.steps[step].acks))
        await asyncio.to_thread(actions.drop_ack, c.run_dir, who, step, checked)
        journaled = await _settle(c.hub, lambda s: len(s.steps[step].acks) > before)
        status = 200 if journaled else 202
        return JSONResponse({"step": step, "result": checked["result"], "journaled": journaled}, status)

    async def evidence(request: Request) -> Response:
        who = caller(request, changes=True)
        step = request.path_params["step"]
        c.hub.read(lambda s: actions.check_upload(s, who, step))
        data = await read_body(request, MAX_EVIDENCE)
        if not data:
            raise Refused(422, "the file is empty: send its bytes as the body")
        name = unquote(request.headers.get("x-file-name", ""))[:200] or "evidence"
        stored = await asyncio.to_thread(store_evidence, c.run_dir, step, name, data, actions.actor(who))
        keep = ("step", "file", "name", "sha256", "size")
        return JSONResponse({k: stored[k] for k in keep}, 202)

    def commander(action: str) -> Handler:
        async def endpoint(request: Request) -> Response:
            who = caller(request, changes=True)
            body = await body_of(request)
            step = request.path_params.get("step")
            if action == "skip" and step:
                c.hub.read(lambda s: actions.skip(c.run_dir, s, who, step, body))
            elif action in ("retry", "mark_done") and step:
                c.hub.read(lambda s: actions.decide(c.run_dir, s, who, action, step, body))
            else:
                c.hub.read(lambda s: actions.hold(c.run_dir, s, who, action, body))
            applies = "at the next `drill resume`" if action in ("retry", "mark_done") else "by the runner"
            return JSONResponse({"action": action, "step": step, "accepted": True, "applies": applies}, 202)

        return endpoint

    post = ["POST"]
    return [
        Route("/api/steps/{step}/ack", guarded(c, ack), methods=post),
        Route("/api/steps/{step}/evidence", guarded(c, evidence), methods=post),
        Route("/api/steps/{step}/skip", guarded(c, commander("skip")), methods=post),
        Route("/api/steps/{step}/retry", guarded(c, commander("retry")), methods=post),
        Route("/api/steps/{step}/mark-done", guarded(c, commander("mark_done")), methods=post),
        Route("/api/hold", guarded(c, commander("hold")), methods=post),
        Route("/api/continue", guarded(c, commander("continue")), methods=post),
    ]


async def _settle(hub: Hub, done: Callable[[Any], bool]) -> bool:
    deadline = time.monotonic() + ACK_SETTLE
    while time.monotonic() < deadline:
        await asyncio.to_thread(hub.catch_up)
        if hub.read(done):
            return True
        await asyncio.sleep(0.05)
    return False


class Logged:
    """Access log without query strings (nothing secret travels there, and nothing is logged if it
    did), plus the security headers on every response."""

    def __init__(self, app: ASGIApp, log: Callable[[str], None]) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [0]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client") or ("-", 0)
            self.log(f'{client[0]} "{scope["method"]} {scope["path"]}" {status[0]}')


def build_app(
    hub: Hub, keyring: Keyring, *, secure: bool = False, log: Callable[[str], None] | None = None
) -> tuple[ASGIApp, Console]:
    console = Console(hub, keyring, secure=secure, log=log or (lambda line: None))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        console.loop, console.stop = asyncio.get_running_loop(), asyncio.Event()
        task = asyncio.create_task(hub.follow(console.stop))
        try:
            yield
        finally:
            console.stop.set()
            await task

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return _error(status, "no such page or method" if status in (404, 405) else "bad request")

    app = Starlette(routes=routes(console), lifespan=lifespan, exception_handlers={HTTPException: http_error})
    return Logged(app, console.log), console
