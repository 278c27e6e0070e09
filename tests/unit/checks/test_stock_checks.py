"""The stock checks in checks/, loaded by path as the python probe loads them, against real sockets/files."""

from __future__ import annotations

import datetime as dt
import http.server
import importlib.util
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from certs import self_signed
from servers import serve

CHECKS = Path(__file__).resolve().parents[3] / "checks"


def check(module: str) -> Callable[..., dict[str, Any]]:
    spec = importlib.util.spec_from_file_location(f"stock_{module}", CHECKS / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    function: Callable[..., dict[str, Any]] = getattr(loaded, module)
    return function


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_newest_file_age_reports_the_newest_mtime(tmp_path: Path) -> None:
    for name, age in [("old.img", 3600), ("new.img", 120), ("skip.txt", 1)]:
        (tmp_path / name).write_text(name)
        os.utime(tmp_path / name, (time.time() - age, time.time() - age))
    result = check("newest_file_age")(str(tmp_path), pattern="*.img", max_age=600)
    assert result["ok"] is True
    assert result["observed"]["files"] == 2 and result["observed"]["newest"].endswith("new.img")
    stamp = dt.datetime.fromisoformat(result["data_timestamp"].replace("Z", "+00:00"))
    assert abs(time.time() - 120 - stamp.timestamp()) < 2
    stale = check("newest_file_age")(str(tmp_path), pattern="*.img", max_age=60)
    assert stale["ok"] is False and "expected at most 60s old" in stale["detail"]


def test_newest_file_age_without_files(tmp_path: Path) -> None:
    result = check("newest_file_age")(str(tmp_path), pattern="*.img")
    assert result == {
        "ok": False,
        "detail": f"no file matching '*.img' in {tmp_path}",
        "observed": {"files": 0},
    }
    assert check("newest_file_age")(str(tmp_path / "nope"))["detail"].endswith("is not a directory")


def test_tcp_port_open_and_closed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert check("tcp_port")("127.0.0.1", port)["ok"] is True
    refused = check("tcp_port")("127.0.0.1", closed_port())
    assert refused["ok"] is False and "refused" in refused["detail"]


def test_dns_resolve_localhost() -> None:
    result = check("dns_resolve")("localhost", expect=["127.0.0.1", "::1"])
    assert result["ok"] is True, result
    wrong = check("dns_resolve")("localhost", expect="10.9.9.9")
    assert wrong["ok"] is False and wrong["detail"].startswith("localhost: expected 10.9.9.9, observed")
    assert check("dns_resolve")("no-such-host.invalid")["ok"] is False


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/health" else 503
        body = b"status: OK" if code == 200 else b"down"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    yield from serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health))


def test_http_health(http_port: int) -> None:
    base = f"http://127.0.0.1:{http_port}"
    assert check("http_health")(f"{base}/health", contains="OK")["ok"] is True
    down = check("http_health")(f"{base}/other")
    assert down["ok"] is False and down["detail"] == f"GET {base}/other: expected status 200, observed 503"
    text = check("http_health")(f"{base}/health", contains="READY")
    assert "expected the body to contain 'READY'" in text["detail"]


def test_smtp_banner() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def greet() -> None:
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"220-mail.dr.test\r\n220 ESMTP ready\r\n")
                conn.recv(64)

        threading.Thread(target=greet, daemon=True).start()
        result = check("smtp_banner")("127.0.0.1", port, contains="ESMTP")
    assert result["ok"] is True, result
    assert result["observed"]["banner"] == "220-mail.dr.test 220 ESMTP ready"


def tls_server(cert: Path, key: Path) -> Iterator[int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from serve(server)


def test_tls_cert_days_left(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, days=30)
    for port in tls_server(cert, key):
        trusted = check("tls_cert")("127.0.0.1", port, server_name="localhost", cafile=str(cert), min_days=14)
        assert trusted["ok"] is True, trusted
        assert 29 < trusted["observed"]["days_left"] <= 30
        short = check("tls_cert")("127.0.0.1", port, server_name="localhost", verify=False, min_days=60)
        assert short["ok"] is False and "expected at least 60" in short["detail"]
        untrusted = check("tls_cert")("127.0.0.1", port, server_name="localhost")
        assert untrusted["ok"] is False and "certificate not trusted" in untrusted["detail"]


def test_sql_newest_row_explains_a_missing_driver_or_a_bad_server() -> None:
    result = check("sql_newest_row")(
        f"host=127.0.0.1 port={closed_port()} dbname=x", "select now()", timeout=2
    )
    assert result["ok"] is False
    assert "psycopg" in result["detail"] or "query failed" in result["detail"]
