"""Where the console may listen: a non-loopback address without TLS is refused before anything
listens; with `--tls-cert/--tls-key` the real `drill console` process serves HTTPS (a certificate
made here for 127.0.0.1) and a plain-HTTP request to it gets no answer. Traffic stays on loopback."""

from __future__ import annotations

import http.client
import json
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from certs import self_signed

SCENARIO = """\
version: 1
name: exposure
title: exposure
environment: lab
teams: {ops: {title: Ops}}
participants:
  - {name: Zhang San, team: ops, role: drill commander}
steps:
  - {id: one, run: "true"}
"""


def drill(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exposure")
    (root / "exposure.yaml").write_text(SCENARIO, encoding="utf-8")
    result = drill("run", str(root / "exposure.yaml"), "--run-dir", str(root / "run"))
    assert result.returncode == 0, result.stderr
    return root / "run"


def test_a_non_loopback_address_without_tls_is_refused_before_listening(run_dir: Path) -> None:
    result = drill("console", str(run_dir), "--listen", "0.0.0.0:0")
    assert result.returncode == 2
    assert "0.0.0.0 is not a loopback address" in result.stderr
    assert "--tls-cert FILE --tls-key FILE, or --insecure-http" in result.stderr
    assert "console:" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_tls_files_go_together_and_must_exist(run_dir: Path, tmp_path: Path) -> None:
    cert, _key = self_signed(tmp_path, days=1)
    alone = drill("console", str(run_dir), "--listen", "127.0.0.1:0", "--tls-cert", str(cert))
    assert alone.returncode == 2 and "--tls-cert and --tls-key go together" in alone.stderr
    missing = drill("console", str(run_dir), "--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope.key"))
    assert missing.returncode == 2 and "nope.key: no such file" in missing.stderr


def test_with_tls_the_console_serves_https_and_nothing_in_the_clear(run_dir: Path, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, days=1)
    out, err = tmp_path / "console.out", tmp_path / "console.err"
    argv = [
        "console",
        str(run_dir),
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
    ]
    with out.open("w", encoding="utf-8") as stdout, err.open("w", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bcdrill.cli", *argv],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        deadline, found = time.monotonic() + 30, None
        while found is None and time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text(encoding="utf-8")
            found = re.search(r"console: (https://127\.0\.0\.1:(\d+)/)", out.read_text(encoding="utf-8"))
            time.sleep(0.05)
        assert found is not None, err.read_text(encoding="utf-8")
        url, port = found.group(1), int(found.group(2))
        links = drill("console", str(run_dir), "--links", "--base-url", url).stdout
        token = links.split("#t=")[1].strip()

        context = ssl.create_default_context(cafile=str(cert))
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        conn.request("GET", "/api/state", headers={"Authorization": f"Bearer {token}"})
        answer = conn.getresponse()
        assert answer.status == 200
        assert [s["id"] for s in json.loads(answer.read())["steps"]] == ["one"]
        conn.request("POST", "/api/session", headers={"Authorization": f"Bearer {token}"})
        session = conn.getresponse()
        session.read()
        cookie = session.headers["Set-Cookie"]
        assert (
            session.status == 200 and "Secure" in cookie and "HttpOnly" in cookie
        )  # never sent in the clear

        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            plain.request("GET", "/api/state", headers={"Authorization": f"Bearer {token}"})
            plain.getresponse()
        assert token not in out.read_text(encoding="utf-8") + err.read_text(encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(30)
