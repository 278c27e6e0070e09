"""An HTTP client of the AWX / Automation Platform controller REST API (standard library only).

`AwxClient` finds the API root once (`/api/v2/` on AWX, `/api/controller/v2/` behind the AAP 2.5+
platform gateway; see `api_root`), sends the token as `Authorization: Bearer` (never after a
redirect), verifies TLS unless told otherwise, and gives every request a timeout. Failures become
`AwxError` with a message for people: an unreachable controller, a refused token (401), a
forbidden action (403), a missing object (404), a refused request (400, with the controller's
reasons), a controller error (5xx). The token never appears in a message.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

API_ROOTS = {"awx": "/api/v2/", "aap": "/api/controller/v2/"}
USER_AGENT = "bcdrill-awx"
MAX_BODY = 50 * 1024 * 1024  # bytes read from one response at most


class AwxError(Exception):
    """A request the controller did not answer as hoped; `status` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Controller:
    """Where and how to reach the controller."""

    url: str  # scheme://host[:port][/prefix]
    token: str
    token_var: str = "the token variable"
    verify_tls: bool = True
    ca_file: str | None = None
    api: str = "auto"  # auto | awx | aap
    timeout: float = 30.0


def tls_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """Certificate and host name checked (against `ca_file` or the system's CAs) unless `verify` is off."""
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class AwxClient:
    """JSON over HTTP(S) to one controller; paths are relative to the API root (`jobs/7/`)."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        parts = urllib.parse.urlsplit(controller.url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.rstrip("/")  # a controller served below a path
        handler = urllib.request.HTTPSHandler(context=tls_context(controller.verify_tls, controller.ca_file))
        self._opener = urllib.request.build_opener(handler)
        self._root: str | None = API_ROOTS.get(controller.api)

    # ---- the API root -------------------------------------------------------------------------

    @property
    def root(self) -> str:
        """The API root path (`/api/v2/` or `/api/controller/v2/`), found on first use."""
        if self._root is None:
            self._root = self.api_root()
        return self._root

    def api_root(self) -> str:
        """`GET /api/`: AWX answers with its `current_version` (`/api/v2/`); the AAP 2.5+ platform
        gateway answers for itself, and `GET /api/controller/` then gives the controller's
        `current_version` (`/api/controller/v2/`)."""
        found = self._current_version("/api/")
        if found is None:
            found = self._current_version("/api/controller/")
        if found is None:
            raise AwxError(
                f"{self.controller.url} does not look like AWX or Automation Platform: neither /api/ nor "
                "/api/controller/ names an API version — check awx.url, or set awx.api: awx or aap"
            )
        return found

    def _current_version(self, path: str) -> str | None:
        try:
            answer = self._request("GET", self._prefix + path, auth=False)
        except AwxError as exc:
            if exc.status in (404, 401, 403):
                return None
            raise
        version = answer.get("current_version") if isinstance(answer, Mapping) else None
        if not isinstance(version, str) or not version.startswith("/"):
            return None
        path = urllib.parse.urlsplit(version).path
        if self._prefix and path.startswith(self._prefix + "/"):  # links carry the prefix; paths here don't
            path = path[len(self._prefix) :]
        return path if path.endswith("/") else path + "/"

    # ---- requests -----------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self._request("GET", self._path(path) + query)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self._request("POST", self._path(path), body=dict(body or {}))

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, following `next` page links."""
        answer = self.get(path, params)
        while True:
            yield from answer.get("results") or ()
            following = answer.get("next")
            if not following:
                return
            answer = self._request("GET", self._same_origin(str(following)))

    def _path(self, path: str) -> str:
        if path.startswith("/"):  # an absolute path the controller gave us (e.g. a `related` link)
            return self._same_origin(path)
        return self._prefix + self.root + path

    def _same_origin(self, link: str) -> str:
        parts = urllib.parse.urlsplit(link)
        query = f"?{parts.query}" if parts.query else ""
        path = parts.path
        if self._prefix and not path.startswith(self._prefix + "/"):
            path = self._prefix + path
        return path + query

    def _request(self, method: str, path: str, *, body: Any = None, auth: bool = True) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self._origin + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", USER_AGENT)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth:  # not sent again after a redirect, to wherever it leads
            request.add_unredirected_header("Authorization", f"Bearer {self.controller.token}")
        try:
            with self._opener.open(request, timeout=self.controller.timeout) as response:
                return _decode(response.read(MAX_BODY), response.headers.get_content_type())
        except urllib.error.HTTPError as exc:
            raise self._refused(method, path, exc) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            raise AwxError(self._unreachable(exc)) from None

    def _unreachable(self, exc: BaseException) -> str:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, ssl.SSLCertVerificationError):
            fix = "give awx.ca_file, or (lab only) set awx.verify_tls: false"
            where = self.controller.url
            return f"the controller's TLS certificate at {where} is not trusted: {reason.reason} — {fix}"
        text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
        if isinstance(reason, TimeoutError):
            text = f"no answer within {self.controller.timeout:g}s"
        return (
            f"cannot reach the controller at {self.controller.url}: {text} — check awx.url and that it is up"
        )

    def _refused(self, method: str, path: str, exc: urllib.error.HTTPError) -> AwxError:
        try:
            body = _decode(exc.read(MAX_BODY), exc.headers.get_content_type() if exc.headers else "")
        except (OSError, ValueError):
            body = None
        what = f"{method} {path.split('?')[0]}"
        status = exc.code
        if status == 401:
            message = (
                f"the controller refused the token (401 Unauthorized) for {what} — "
                f"check the token in {self.controller.token_var} (expired or revoked?)"
            )
        elif status == 403:
            message = f"the token's user may not do this (403 Forbidden): {what}: {reasons(body)}"
        elif status == 404:
            message = f"not found on the controller (404): {what}"
        else:
            message = f"the controller answered {status} to {what}: {reasons(body)}"
        return AwxError(message, status=status, body=body)


def _decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if content_type == "application/json" or text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def reasons(body: Any) -> str:
    """The controller's reasons in one line: `{"detail": …}`, `{"field": ["why"]}` or text."""
    if isinstance(body, Mapping):
        parts = []
        for key, value in body.items():
            items = value if isinstance(value, list) else [value]
            text = "; ".join(str(v) for v in items)
            parts.append(text if key in ("detail", "error", "__all__") else f"{key}: {text}")
        return " | ".join(parts) or "no reason given"
    text = " ".join(str(body or "").split())
    return text[:300] or "no reason given"
