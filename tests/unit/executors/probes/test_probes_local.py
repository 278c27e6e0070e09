"""http / tcp / command probes against real servers on 127.0.0.1 ephemeral ports."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bcdrill.executors.base import EventList, Resources, RunOptions, StepContext
from bcdrill.executors.check import run_check
from bcdrill.executors.probes.http import json_path
from bcdrill.scenario.model import CheckAction, CommandProbe, HttpProbe, Pos, Scenario, Step, TcpProbe


class Sink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text


def ctx_for(probe: object, tmp_path: Path, timeout: float | None = 5.0) -> StepContext:
    action = CheckAction(probe=probe)  # type: ignore[arg-type]
    step = Step(id="c", action=action, pos=Pos("t.yaml", 1, 1))
    scn = Scenario(
        path=str(tmp_path / "t.yaml"), sha256="0", version=1, name="t", title="t", environment="lab"
    )
    deadline = time.monotonic() + timeout if timeout else None
    return StepContext(
        step=step,
        scenario=scn,
        run_dir=tmp_path,
        attempt=1,
        deadline=deadline,
        cancel=threading.Event(),
        log=Sink(),
        emit=EventList(),
        options=RunOptions(),
        resources=Resources(),
    )


def check(probe: object, tmp_path: Path, timeout: float | None = 5.0) -> tuple[str, str]:
    ctx = ctx_for(probe, tmp_path, timeout)
    out = run_check(ctx.step.action, ctx)  # type: ignore[arg-type]
    return out.status, out.detail


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/health": (200, "status: OK"),
            "/down": (503, "maintenance"),
            "/json": (200, json.dumps({"db": {"role": "primary", "replicas": [{"lag": 0}]}})),
        }
        if self.path == "/file-redirect":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        code, body = routes.get(self.path, (404, "nope"))
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_http_ok_and_contains(server: str, tmp_path: Path) -> None:
    assert check(HttpProbe(url=f"{server}/health", contains="OK"), tmp_path)[0] == "ok"
    status, detail = check(HttpProbe(url=f"{server}/health", contains="GREEN"), tmp_path)
    assert status == "failed" and "does not contain 'GREEN'" in detail


def test_http_status_mismatch_detail(server: str, tmp_path: Path) -> None:
    assert check(HttpProbe(url=f"{server}/down"), tmp_path) == (
        "failed",
        f"HTTP 503 from {server}/down, expected 200",
    )
    assert check(HttpProbe(url=f"{server}/down", status=503), tmp_path)[0] == "ok"


def test_http_json_paths(server: str, tmp_path: Path) -> None:
    ok = HttpProbe(url=f"{server}/json", json={"db.role": "primary", "db.replicas[0].lag": 0})
    assert check(ok, tmp_path)[0] == "ok"
    status, detail = check(HttpProbe(url=f"{server}/json", json={"db.role": "standby"}), tmp_path)
    assert (
        status == "failed"
        and detail == f"JSON db.role is 'primary' in the response of {server}/json, expected 'standby'"
    )
    assert "missing" in check(HttpProbe(url=f"{server}/json", json={"db.x": 1}), tmp_path)[1]
    assert json_path({"a": [1, {"b": 2}]}, "a.1.b") == 2


def test_http_refuses_non_http_redirects_and_unreachable(server: str, tmp_path: Path) -> None:
    status, _ = check(HttpProbe(url=f"{server}/file-redirect"), tmp_path)
    assert status == "failed"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status, detail = check(HttpProbe(url=f"http://127.0.0.1:{port}/"), tmp_path)
    assert status == "failed" and detail.startswith("cannot reach")


def test_tcp(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert check(TcpProbe(host="127.0.0.1", port=port), tmp_path)[0] == "ok"
    status, detail = check(TcpProbe(host="127.0.0.1", port=port), tmp_path)
    assert status == "failed" and f"127.0.0.1:{port} failed" in detail


def test_command_expectations(tmp_path: Path) -> None:
    assert check(CommandProbe(command="echo replication ok", contains="ok"), tmp_path)[0] == "ok"
    assert check(CommandProbe(command="echo lag=3", matches=r"lag=\d$"), tmp_path)[0] == "ok"
    assert check(CommandProbe(command="echo lag=30", matches=r"lag=\d$"), tmp_path) == (
        "failed",
        "expected the output to match /lag=\\d$/; it does not (last line: 'lag=30')",
    )
    assert check(CommandProbe(command="echo boom; exit 2"), tmp_path) == (
        "failed",
        "expected exit code 0, got 2 (last line: 'boom')",
    )
    assert check(CommandProbe(command="exit 2", exit_code=2), tmp_path)[0] == "ok"
    assert check(CommandProbe(command="sleep 5"), tmp_path, timeout=0.2)[0] == "timeout"
