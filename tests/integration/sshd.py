"""A real OpenSSH sshd on a free loopback port, for integration tests (fixture `sshd` in conftest.py).

Keys are generated with ssh-keygen; the server accepts only the generated user key, for the current
user. Teardown kills sshd and every process started under it (per-connection sshd children call
setsid, and commands run by tests may too, so the whole /proc tree below the daemon is collected).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bcdrill.executors.base import EventList, Outcome, Resources, RunOptions, StepContext
from bcdrill.scenario.model import Host, Pos, Scenario, Step

SSHD = "/usr/sbin/sshd"


@dataclass
class SshdServer:
    host: str
    port: int
    user: str
    user_key: Path
    known_hosts: Path
    host_pubkey: str  # "ssh-ed25519 AAAA..."
    workdir: Path
    process: subprocess.Popen[bytes]

    def host_entry(self, name: str = "dr-db-1", **overrides: Any) -> Host:
        """A `hosts:` entry pointing at this server (known_hosts and key set)."""
        values: dict[str, Any] = {
            "address": self.host,
            "port": self.port,
            "user": self.user,
            "key": str(self.user_key),
            "known_hosts": str(self.known_hosts),
        }
        values.update(overrides)
        return Host(name=name, **values)

    def keygen(self, name: str) -> Path:
        """A fresh ed25519 key pair in the work dir (private key path; `.pub` beside it)."""
        return keygen(self.workdir / name)


@dataclass
class ListLog:
    """A LogSink that collects text (thread-safe)."""

    parts: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, text: str) -> None:
        with self.lock:
            self.parts.append(text)

    @property
    def text(self) -> str:
        with self.lock:
            return "".join(self.parts)


def make_ctx(
    action: Any,
    *,
    hosts: dict[str, Host] | None = None,
    timeout: float | None = 30.0,
    resources: Resources | None = None,
    cancel: threading.Event | None = None,
    dry_run: bool = False,
    base: Path | None = None,
) -> StepContext:
    """A StepContext for one step running `action`, built by hand (no runner needed)."""
    step = Step(id="s1", action=action, pos=Pos("t.yaml", 1, 1), timeout=timeout)
    scenario = Scenario(
        path=str((base or Path("/tmp")) / "t.yaml"),
        sha256="0" * 64,
        version=1,
        name="t",
        title="t",
        environment="lab",
        hosts=hosts or {},
        steps=(step,),
    )
    return StepContext(
        step=step,
        scenario=scenario,
        run_dir=base or Path("/tmp"),
        attempt=1,
        deadline=None if timeout is None else time.monotonic() + timeout,
        cancel=cancel or threading.Event(),
        log=ListLog(),
        emit=EventList(),
        options=RunOptions(dry_run=dry_run),
        resources=resources or Resources(),
    )


def log_text(ctx: StepContext) -> str:
    assert isinstance(ctx.log, ListLog)
    return ctx.log.text


def check_outcome(outcome: Outcome, status: str, *fragments: str) -> None:
    """Assert the status and that every fragment is in the detail (message shown on failure)."""
    assert outcome.status == status, outcome
    for fragment in fragments:
        assert fragment in outcome.detail, (fragment, outcome.detail)


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-f", str(path)], check=True)
    path.chmod(0o600)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sshd_available() -> bool:
    return os.access(SSHD, os.X_OK)


def _write_config(work: Path, port: int, user: str, host_key: Path, authorized: Path) -> Path:
    config = work / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\n"
        f"AuthorizedKeysFile {authorized}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"UsePAM no\nStrictModes no\nPidFile {work / 'sshd.pid'}\nPermitRootLogin yes\n"
        f"AllowUsers {user}\nLogLevel ERROR\nMaxStartups 100\n"
        # bash sources ~/.bashrc for commands run by sshd only when it is the top-level shell (SHLVL<2);
        # the test host's dotfiles (pyenv init: ~120 ms a command) must not weigh on tests and benchmarks.
        "SetEnv SHLVL=1\n"
    )
    return config


def _wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> None:
    """Ready when a TCP connection reads the `SSH-2.0-` banner."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"sshd exited with {proc.returncode}: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"SSH-2.0-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not answer on port {port} within {timeout}s")


def start_sshd(work: Path) -> SshdServer:
    user = getpass.getuser()
    host_key, user_key = keygen(work / "host_ed25519"), keygen(work / "user_ed25519")
    authorized = work / "authorized_keys"
    shutil.copy(f"{user_key}.pub", authorized)
    authorized.chmod(0o600)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
    port = free_port()
    config = _write_config(work, port, user, host_key, authorized)
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], start_new_session=True, stderr=subprocess.PIPE
    )
    try:
        _wait_ready(proc, port)
    except BaseException:
        kill_tree(proc.pid)
        raise
    pub = Path(f"{host_key}.pub").read_text().split()
    known = work / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
    return SshdServer("127.0.0.1", port, user, user_key, known, f"{pub[0]} {pub[1]}", work, proc)


def descendants(root: int) -> list[int]:
    """Every process whose parent chain leads to `root` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> None:
    """Kill sshd and everything below it: per-connection children setsid, so no group kill reaches them.

    The deepest processes go first, so each parent is still alive to reap its children (an orphan
    would be left to init, which may reap late in a container)."""
    for victim in [*reversed(descendants(pid)), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def stop_sshd(server: SshdServer) -> None:
    kill_tree(server.process.pid)
    server.process.wait(timeout=10)
    if server.process.stderr:
        server.process.stderr.close()


def sshd_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    if not sshd_available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{SSHD} is missing: CI must install openssh-server for the SSH integration tests")
        pytest.skip(f"{SSHD} is not installed (install openssh-server to run the SSH integration tests)")
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        stop_sshd(server)
