"""smtp and python probes on real loopback sockets / real files; the ssh command wrapper and its parsing."""

from __future__ import annotations

import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import serve

from bcdrill.executors.base import EventList, Outcome, Resources, RunOptions, StepContext
from bcdrill.executors.probes.python import probe_python
from bcdrill.executors.probes.smtp import probe_smtp
from bcdrill.executors.probes.ssh import expectation_problems
from bcdrill.executors.transport.sshexec import MARKER, RemoteResult, _OutputReader, kill_script, wrap_command
from bcdrill.executors.transport.sshpool import resolve_target
from bcdrill.scenario.model import Host, Pos, PythonProbe, Scenario, SmtpProbe, SshProbe, Step


class Log:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)


def make_ctx(action: Any, timeout: float | None = 10.0) -> StepContext:
    step = Step(id="s", action=action, pos=Pos("t.yaml", 1, 1), timeout=timeout)
    scenario = Scenario(path="/t.yaml", sha256="0" * 64, version=1, name="t", title="t", environment="lab")
    return StepContext(
        step=step,
        scenario=scenario,
        run_dir=Path("/tmp"),
        attempt=1,
        deadline=None if timeout is None else time.monotonic() + timeout,
        cancel=threading.Event(),
        log=Log(),
        emit=EventList(),
        options=RunOptions(),
        resources=Resources(),
    )


# ---- smtp -------------------------------------------------------------------------------------


class SmtpHandler(socketserver.StreamRequestHandler):
    banner = b"220 mail.dr.test ESMTP ready"

    def handle(self) -> None:
        self.wfile.write(self.banner + b"\r\n")
        for raw in self.rfile:
            verb = raw.decode().strip().upper()
            if verb.startswith("EHLO"):
                self.wfile.write(b"250-mail.dr.test\r\n250 SIZE 1000000\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 no\r\n")


class RefusingHandler(SmtpHandler):
    banner = b"554 no service"


def smtp_server(handler: type[socketserver.BaseRequestHandler]) -> socketserver.ThreadingTCPServer:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    return server


@pytest.fixture
def smtp_port() -> Iterator[int]:
    yield from serve(smtp_server(SmtpHandler))


def test_smtp_probe_reads_banner_and_ehlo(smtp_port: int) -> None:
    probe = SmtpProbe(host="127.0.0.1", port=smtp_port)
    outcome = probe_smtp(probe, make_ctx(probe))
    assert outcome.status == "ok", outcome
    assert outcome.detail == f"SMTP 127.0.0.1:{smtp_port}: 220 mail.dr.test ESMTP ready; EHLO 250"


def test_smtp_probe_rejects_a_non_220_banner() -> None:
    for port in serve(smtp_server(RefusingHandler)):
        probe = SmtpProbe(host="127.0.0.1", port=port)
        outcome = probe_smtp(probe, make_ctx(probe))
        assert outcome.status == "failed"
        assert outcome.detail == f"expected banner 220 from 127.0.0.1:{port}, observed 554 no service"


def test_smtp_probe_closed_port_fails() -> None:
    with socketserver.TCPServer(("127.0.0.1", 0), SmtpHandler) as server:
        port = server.server_address[1]
    probe = SmtpProbe(host="127.0.0.1", port=port)
    outcome = probe_smtp(probe, make_ctx(probe))
    assert outcome.status == "failed"
    assert f"cannot talk to the SMTP server 127.0.0.1:{port}: Connection refused" in outcome.detail


# ---- python -----------------------------------------------------------------------------------

CHECK_MODULE = """
import time
from dataclasses import dataclass

@dataclass
class Point:  # needs the module in sys.modules
    x: int

def mapping(lag):
    return {"ok": lag < 10, "detail": f"lag {lag}s", "observed": {"lag": lag},
            "data_timestamp": "2026-05-01T10:00:00Z"}
def boolean(value):
    return value
def boom():
    raise RuntimeError("replica is not streaming")
def hang(seconds):
    time.sleep(seconds)
    return True
def weird():
    return 42
def no_ok():
    return {"detail": "forgot ok"}
def sees_timeout(timeout):
    return {"ok": 0 < timeout <= 10, "detail": f"timeout {timeout:.1f}"}
"""


def run_check(tmp_path: Path, function: str, timeout: float | None = 10.0, **args: Any) -> Outcome:
    path = tmp_path / "mycheck.py"
    path.write_text(CHECK_MODULE)
    probe = PythonProbe(path=str(path), function=function, args=args)
    return probe_python(probe, make_ctx(probe, timeout))


def test_python_probe_mapping(tmp_path: Path) -> None:
    outcome = run_check(tmp_path, "mapping", lag=3)
    assert outcome == Outcome("ok", "lag 3s", observed={"lag": 3}, data_timestamp="2026-05-01T10:00:00Z")
    assert run_check(tmp_path, "mapping", lag=30).status == "failed"


def test_python_probe_bool(tmp_path: Path) -> None:
    assert run_check(tmp_path, "boolean", value=True).status == "ok"
    failed = run_check(tmp_path, "boolean", value=False)
    assert (failed.status, failed.detail) == ("failed", "mycheck.py:boolean returned False")


def test_python_probe_exception_is_a_failure(tmp_path: Path) -> None:
    outcome = run_check(tmp_path, "boom")
    assert outcome.status == "failed"
    assert outcome.detail == "mycheck.py:boom raised RuntimeError: replica is not streaming"


def test_python_probe_hanging_past_the_deadline_times_out(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = run_check(tmp_path, "hang", timeout=0.3, seconds=5)
    assert outcome.status == "timeout"
    assert "did not return before the deadline" in outcome.detail
    assert time.monotonic() - started < 4.5  # did not wait for the 5 s hang


def test_python_probe_bad_return_values(tmp_path: Path) -> None:
    weird = run_check(tmp_path, "weird")
    assert (weird.status, weird.detail) == (
        "failed",
        "mycheck.py:weird returned int; expected a bool or a mapping with ok",
    )
    assert "whose 'ok' is None" in run_check(tmp_path, "no_ok").detail


def test_python_probe_passes_the_time_left_as_timeout(tmp_path: Path) -> None:
    assert run_check(tmp_path, "sees_timeout", timeout=5.0).status == "ok"


def test_python_probe_missing_function_or_file(tmp_path: Path) -> None:
    assert "has no function 'nope'" in run_check(tmp_path, "nope").detail
    probe = PythonProbe(path=str(tmp_path / "absent.py"), function="f")
    outcome = probe_python(probe, make_ctx(probe))
    assert outcome.status == "failed" and "cannot load" in outcome.detail


# ---- ssh: command wrapper, output parsing, expectations, host resolution ------------------------


def test_wrapped_command_prints_its_group_and_keeps_the_exit_status() -> None:
    command = """echo "it's" 'a $HOME "test"' >&2; exit 7"""
    done = subprocess.run(["sh", "-c", wrap_command(command)], capture_output=True, text=True)
    assert done.returncode == 7
    first, second = done.stdout.splitlines()
    assert first.startswith(f"{MARKER} ") and first.split()[1].isdigit()
    assert second == """it's a $HOME "test\""""  # stderr went into stdout, in order


def test_kill_script_ends_a_process_group() -> None:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    subprocess.run(["sh", "-c", kill_script(proc.pid, grace=0.5)], check=True)
    assert proc.wait(timeout=5) < 0


def test_output_reader_strips_the_marker_split_across_chunks() -> None:
    log = Log()
    reader = _OutputReader(log, capture=True)
    for chunk in [b"motd\n__BCDRILL_", b"PGID__ 4242\nline 1\n", b"\xe2\x9c", b"\x93 done\n\n"]:
        reader.feed(chunk)
    reader.finish()
    assert reader.pgid == 4242
    assert "".join(log.parts) == "motd\nline 1\n✓ done\n\n"
    assert reader.last_line == "✓ done"
    assert reader.text() == "motd\nline 1\n✓ done\n\n"


def test_ssh_expectations_report_expected_and_observed() -> None:
    probe = SshProbe(host="h", command="c", exit_code=0, contains="primary", matches=r"lag=\d")
    result = RemoteResult("ok", exit_code=1, last_line="standby", output="standby\n")
    assert expectation_problems(probe, result) == [
        "expected exit code 0, observed 1 (last line: 'standby')",
        "expected the output to contain 'primary', observed last line 'standby'",
        r"expected the output to match /lag=\d/, observed last line 'standby'",
    ]
    assert expectation_problems(probe, RemoteResult("ok", 0, "lag=0", "primary\nlag=0\n")) == []


def test_hosts_are_resolved_from_the_scenario_or_used_as_addresses() -> None:
    hosts = {"dr-db-1": Host(name="dr-db-1", address="10.0.0.5", port=2222, user="dr", key="/k")}
    entry = resolve_target(hosts, "dr-db-1", user="ops")
    assert (entry.address, entry.port, entry.user, entry.key) == ("10.0.0.5", 2222, "ops", "/k")
    bare = resolve_target(hosts, "db.example.com", port=2200)
    assert (bare.address, bare.port, bare.key, bare.accept_unknown_host_key) == (
        "db.example.com",
        2200,
        None,
        False,
    )
