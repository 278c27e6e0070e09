"""Who may use the console: the per-run secret, personal tokens, sessions, the login rate limit.

- The run's secret: 32 random bytes in `RUN_DIR/console.secret`, created with mode 0600 by
  the first console of the run, never printed, logged, journaled or exported.
- A participant's personal token: HMAC-SHA256(secret, name, team, role), base64url. It is
  only shown by `drill console --links`; anyone holding it acts as that participant.
- A drill commander is a participant whose role names it ("commander", "总指挥"): they may
  act on every step and hold/continue/skip/retry/mark-done.
- The page turns the link's token into an HttpOnly session cookie (`POST /api/session`);
  requests authenticated by that cookie must carry the session's CSRF token in `X-CSRF-Token`.
- Tokens are compared in constant time; a client address that failed to authenticate
  `FAIL_LIMIT` times within `FAIL_WINDOW` seconds gets 429 until the window has passed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bcdrill.common.errors import RunDirError

SECRET_FILE = "console.secret"
COMMANDER_WORDS = ("commander", "总指挥")
FAIL_LIMIT = 10
FAIL_WINDOW = 60.0
SESSION_TTL = 24 * 3600.0


@dataclass(frozen=True)
class Person:
    """A scenario participant as the console knows them."""

    name: str
    team: str | None
    role: str | None

    @property
    def commander(self) -> bool:
        role = (self.role or "").lower()
        return any(word in role for word in COMMANDER_WORDS)

    def json(self) -> dict[str, Any]:
        return {"name": self.name, "team": self.team, "role": self.role, "commander": self.commander}


def load_secret(run_dir: Path) -> bytes:
    """The run's console secret, created (mode 0600, exclusively) when there is none yet."""
    path = Path(run_dir) / SECRET_FILE
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    try:
        text = path.read_text(encoding="ascii").strip()
        mode = path.stat().st_mode & 0o777
    except (OSError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: cannot read the console secret ({exc})") from None
    if mode & 0o077:
        raise RunDirError(f"{path} is readable by others (mode {mode:o}) — chmod 600 {path}")
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise RunDirError(
            f"{path} is not a console secret — delete it to make a new one (old links stop working)"
        )
    return secret


def person_token(secret: bytes, person: Person) -> str:
    message = "\0".join(("bcdrill-console-v1", person.name, person.team or "", person.role or ""))
    digest = hmac.new(secret, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def people_of(snapshot: Mapping[str, Any]) -> list[Person]:
    """The participants of the scenario snapshot (run.started), in their order, without duplicates."""
    seen: dict[tuple[str, str | None, str | None], Person] = {}
    for entry in snapshot.get("participants") or ():
        if isinstance(entry, Mapping) and entry.get("name"):
            person = Person(str(entry["name"]), _opt(entry.get("team")), _opt(entry.get("role")))
            seen.setdefault((person.name, person.team, person.role), person)
    return list(seen.values())


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "replace")).hexdigest()


@dataclass
class Session:
    person: Person
    csrf: str
    expires: float


class Keyring:
    """Personal tokens of the run's participants, the page's sessions and the failed-login counts."""

    def __init__(self, secret: bytes, people: Iterable[Person]) -> None:
        self._tokens = [(person_token(secret, p).encode("ascii"), p) for p in people]
        self._sessions: dict[str, Session] = {}
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def links(self) -> list[tuple[Person, str]]:
        return [(p, token.decode("ascii")) for token, p in self._tokens]

    def person_of(self, token: str) -> Person | None:
        """The participant holding `token`; every token is compared, in constant time."""
        given = token.encode("utf-8", "replace")
        found = None
        for known, person in self._tokens:
            if hmac.compare_digest(known, given):
                found = person
        return found

    def open_session(self, person: Person) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        session = Session(person, secrets.token_urlsafe(24), time.monotonic() + SESSION_TTL)
        with self._lock:
            self._sessions = {k: s for k, s in self._sessions.items() if s.expires > time.monotonic()}
            self._sessions[_key(sid)] = session
        return sid, session

    def session_of(self, sid: str) -> Session | None:
        """The session of cookie value `sid` (looked up by its hash: no timing tells the value)."""
        with self._lock:
            session = self._sessions.get(_key(sid))
        return session if session is not None and session.expires > time.monotonic() else None

    def close_session(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(_key(sid), None)

    def blocked(self, client: str) -> float:
        """Seconds `client` must wait before trying again (0: it may try now)."""
        with self._lock:
            fails = self._recent(client)
            if len(fails) < FAIL_LIMIT:
                return 0.0
            return max(0.0, fails[0] + FAIL_WINDOW - time.monotonic())

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        fails = self._failures.setdefault(client, deque(maxlen=FAIL_LIMIT))
        while fails and fails[0] < time.monotonic() - FAIL_WINDOW:
            fails.popleft()
        return fails
