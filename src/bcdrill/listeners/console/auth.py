"""Authentication of every console request, and the refusals the API answers with.

A request is authenticated by `Authorization: Bearer TOKEN` (a participant's personal token)
or by the page's session cookie; a cookie-authenticated request that changes anything must
carry the session's CSRF token in `X-CSRF-Token`. A client that failed too often gets 429.
Tokens never travel in URLs the server sees: the personal link puts the token in the
fragment (`#t=`), which browsers never send.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from bcdrill.listeners.console.tokens import Keyring, Person

COOKIE = "drill_session"


class Refused(Exception):
    """An HTTP error with a message for people (never a traceback)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Caller:
    person: Person
    by_cookie: bool
    csrf: str | None
    client: str


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return token.strip()


def check_rate(keyring: Keyring, client: str) -> None:
    wait = keyring.blocked(client)
    if wait > 0:
        raise Refused(
            429,
            f"too many failed logins from {client} — try again in {int(wait) + 1} s",
            {"Retry-After": str(int(wait) + 1)},
        )


def authenticate(request: Request, keyring: Keyring, *, changes: bool) -> Caller:
    """The caller, or Refused: 429 (rate limited), 401 (no or bad token), 403 (bad CSRF token)."""
    client = client_of(request)
    check_rate(keyring, client)
    token = _bearer(request)
    if token is not None:
        person = keyring.person_of(token) if token else None
        if person is None:
            keyring.failed(client)
            raise Refused(401, "bad token — use the link `drill console RUN_DIR --links` printed for you")
        return Caller(person, False, None, client)
    sid = request.cookies.get(COOKIE)
    session = keyring.session_of(sid) if sid else None
    if session is None:
        if sid:
            keyring.failed(client)
        raise Refused(
            401, "not signed in — open your personal console link, or send Authorization: Bearer TOKEN"
        )
    if changes:
        given = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), session.csrf.encode()):
            raise Refused(403, "missing or wrong X-CSRF-Token header (reload the page)")
    return Caller(session.person, True, session.csrf, client)
