"""The ssh executor and ssh probe against a real OpenSSH sshd on loopback (fixture `sshd`)."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sshd import SshdServer, check_outcome, free_port, log_text, make_ctx

from bcdrill.executors.base import Outcome, Resources, StepContext
from bcdrill.executors.probes.ssh import probe_ssh
from bcdrill.executors.ssh import EXECUTOR, run_ssh
from bcdrill.executors.transport.sshpool import SshPool, SshTarget, resolve_target
from bcdrill.scenario.model import Host, SshAction, SshProbe

pytestmark = pytest.mark.integration


_OPEN: list[Resources] = []


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # only the keys the tests configure
    yield
    while _OPEN:  # close every connection a test opened, as the runner does at the end of a run
        _OPEN.pop().close_all()


def ssh(
    server: SshdServer,
    command: str,
    *,
    host: Host | None = None,
    resources: Resources | None = None,
    timeout: float = 30.0,
    cancel: threading.Event | None = None,
    dry_run: bool = False,
) -> tuple[Outcome, StepContext]:
    entry = host or server.host_entry()
    if resources is None:
        resources = Resources()
        _OPEN.append(resources)
    action = SshAction(host=entry.name, command=command)
    ctx = make_ctx(
        action,
        hosts={entry.name: entry},
        resources=resources,
        timeout=timeout,
        cancel=cancel,
        dry_run=dry_run,
    )
    outcome = EXECUTOR.dry_run(action, ctx) if dry_run else run_ssh(action, ctx)  # as the step runner does
    return outcome, ctx


def target_of(server: SshdServer) -> SshTarget:
    return resolve_target({"dr-db-1": server.host_entry()}, "dr-db-1")


def remaining_processes(marker: str) -> str:
    return subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout.strip()


def wait_gone(marker: str, within: float = 3.0) -> str:
    give_up = time.monotonic() + within
    while (left := remaining_processes(marker)) and time.monotonic() < give_up:
        time.sleep(0.05)
    return left


def test_ok_command_streams_output_to_the_log(sshd: SshdServer) -> None:
    outcome, ctx = ssh(sshd, "echo hello; echo oops >&2; printf 'last line'")
    check_outcome(outcome, "ok", "exit code 0 on dr-db-1")
    assert outcome.exit_code == 0
    assert outcome.last_line == "last line"
    log = log_text(ctx)
    assert "hello\noops\nlast line" in log
    assert "__BCDRILL_PGID__" not in log


def test_nonzero_exit_code_fails_with_the_last_line(sshd: SshdServer) -> None:
    outcome, _ = ssh(sshd, "echo step 1; echo 'disk full' >&2; exit 3")
    check_outcome(outcome, "failed", "exit code 3 on dr-db-1 (127.0.0.1:", "disk full")
    assert outcome.exit_code == 3


def test_quotes_and_shell_syntax_reach_the_remote_shell_intact(sshd: SshdServer) -> None:
    outcome, _ = ssh(sshd, """x='it'"'"'s "quoted" $HOME'; echo "$x" | tr a-z A-Z""")
    check_outcome(outcome, "ok")
    assert outcome.last_line == """IT'S "QUOTED" $HOME"""


def test_one_transport_serves_sequential_and_parallel_steps(sshd: SshdServer) -> None:
    resources = Resources()
    for i in range(20):
        outcome, _ = ssh(sshd, f"echo seq {i}", resources=resources)
        assert outcome.ok and outcome.last_line == f"seq {i}", outcome
    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(lambda i: ssh(sshd, f"echo par {i}", resources=resources)[0], range(10)))
    assert [o.last_line for o in outcomes] == [f"par {i}" for i in range(10)]
    ssh_pool = resources.get("ssh", SshPool)
    assert ssh_pool.connects == 1
    assert ssh_pool.active_transports() == 1
    resources.close_all()
    assert ssh_pool.active_transports() == 0


def test_entries_for_one_address_with_other_keys_do_not_share_a_connection(
    sshd: SshdServer, tmp_path: Path
) -> None:
    """A connection checked against one known_hosts file (and logged in with one key) must not carry
    the steps of another entry for the same address: each entry gets its own host key check and login."""
    resources = Resources()
    assert ssh(sshd, "true", resources=resources)[0].ok
    other = sshd.keygen(f"other-{uuid.uuid4().hex[:6]}")
    kind, blob = Path(f"{other}.pub").read_text().split()[:2]
    changed = tmp_path / "changed_known_hosts"
    changed.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    entry = sshd.host_entry("dr-db-2", known_hosts=str(changed), accept_unknown_host_key=True)
    check_outcome(ssh(sshd, "true", host=entry, resources=resources)[0], "failed", "REMOTE HOST KEY CHANGED")
    wrong = sshd.host_entry("dr-db-3", key=str(sshd.keygen(f"wrong-{uuid.uuid4().hex[:6]}")))
    check_outcome(ssh(sshd, "true", host=wrong, resources=resources)[0], "failed", "authentication failed")
    assert resources.get("ssh", SshPool).connects == 1


def test_more_parallel_commands_than_max_sessions_wait_for_a_session(sshd: SshdServer) -> None:
    """OpenSSH allows 10 sessions per connection (MaxSessions); refused channels are retried, and a
    refusal must never be taken for a dead connection (which would kill the other commands on it)."""
    resources = Resources()
    with ThreadPoolExecutor(30) as pool:
        outcomes = list(
            pool.map(lambda i: ssh(sshd, f"sleep 0.3; echo par {i}", resources=resources)[0], range(30))
        )
    assert [o.last_line for o in outcomes] == [f"par {i}" for i in range(30)], outcomes
    assert resources.get("ssh", SshPool).connects == 1


def test_a_dead_transport_is_replaced_on_next_use(sshd: SshdServer) -> None:
    resources = Resources()
    assert ssh(sshd, "true", resources=resources)[0].ok
    pool = resources.get("ssh", SshPool)
    pool.transport(target_of(sshd), timeout=5).close()  # the connection drops
    assert ssh(sshd, "echo again", resources=resources)[0].last_line == "again"
    assert pool.connects == 2


def test_unknown_host_key_is_refused_with_the_fix(sshd: SshdServer, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    outcome, _ = ssh(sshd, "true", host=sshd.host_entry(known_hosts=str(known)))
    check_outcome(
        outcome,
        "failed",
        f"host key of 127.0.0.1:{sshd.port} is not in {known}",
        f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known}",
        "SHA256:",
        "accept_unknown_host_key: true",
    )


def test_changed_host_key_is_refused_even_when_unknown_keys_are_accepted(
    sshd: SshdServer, tmp_path: Path
) -> None:
    other = sshd.keygen(f"other-{uuid.uuid4().hex[:6]}")
    kind, blob = Path(f"{other}.pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    for accept in (False, True):
        entry = sshd.host_entry(known_hosts=str(known), accept_unknown_host_key=accept)
        outcome, _ = ssh(sshd, "true", host=entry)
        check_outcome(outcome, "failed", "REMOTE HOST KEY CHANGED", "man-in-the-middle", "ssh-keygen -R")
        assert outcome.detail.count("SHA256:") == 2  # the recorded and the presented fingerprints


def test_accept_unknown_host_key_connects_and_says_so(sshd: SshdServer, tmp_path: Path) -> None:
    entry = sshd.host_entry(known_hosts=str(tmp_path / "absent"), accept_unknown_host_key=True)
    outcome, ctx = ssh(sshd, "echo in", host=entry)
    check_outcome(outcome, "ok")
    assert "accepting the unknown host key" in log_text(ctx)


def test_hashed_known_hosts_entries_are_recognised(sshd: SshdServer, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert "|1|" in known.read_text()
    outcome, _ = ssh(sshd, "true", host=sshd.host_entry(known_hosts=str(known)))
    check_outcome(outcome, "ok")


def test_wrong_key_is_an_authentication_failure(sshd: SshdServer) -> None:
    wrong = sshd.keygen(f"wrong-{uuid.uuid4().hex[:6]}")
    outcome, _ = ssh(sshd, "true", host=sshd.host_entry(key=str(wrong)))
    check_outcome(
        outcome, "failed", f"authentication failed for {sshd.user}@127.0.0.1:{sshd.port}", str(wrong)
    )


def test_missing_key_file_is_named(sshd: SshdServer, tmp_path: Path) -> None:
    outcome, _ = ssh(sshd, "true", host=sshd.host_entry(key=str(tmp_path / "nope")))
    check_outcome(outcome, "failed", f"cannot load SSH key file {tmp_path / 'nope'}")


def test_closed_port_is_unreachable(sshd: SshdServer) -> None:
    port = free_port()
    outcome, _ = ssh(sshd, "true", host=sshd.host_entry(port=port))
    check_outcome(outcome, "failed", f"cannot connect to 127.0.0.1:{port}", "refused")


def test_a_connection_dropped_before_the_banner_is_retried_then_explained(sshd: SshdServer) -> None:
    """What OpenSSH does beyond MaxStartups: accept, then close before the banner."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []

    def drop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    threading.Thread(target=drop, daemon=True).start()
    try:
        port = listener.getsockname()[1]
        outcome, ctx = ssh(sshd, "true", host=sshd.host_entry(port=port))
    finally:
        listener.close()
    check_outcome(outcome, "failed", f"SSH handshake with 127.0.0.1:{port} failed", "MaxStartups")
    assert len(accepted) == 4
    assert log_text(ctx).count("retrying") == 3


def test_timeout_kills_the_whole_remote_process_group(sshd: SshdServer) -> None:
    marker = f"300.{uuid.uuid4().int % 10**9}"
    outcome, _ = ssh(sshd, f"sleep {marker}; echo never", timeout=1.0)
    check_outcome(
        outcome, "timeout", "remote command timed out after 1s on dr-db-1", "process group", "killed"
    )
    assert wait_gone(marker) == ""


def test_cancel_kills_the_remote_command(sshd: SshdServer) -> None:
    marker = f"301.{uuid.uuid4().int % 10**9}"
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    outcome, _ = ssh(sshd, f"sh -c 'sleep {marker}' & wait", cancel=cancel, timeout=30.0)
    check_outcome(outcome, "cancelled", "cancelled on dr-db-1", "killed")
    assert wait_gone(marker) == ""


def test_dry_run_runs_nothing(sshd: SshdServer, tmp_path: Path) -> None:
    flag = tmp_path / "ran"
    outcome, ctx = ssh(sshd, f"touch {flag}", dry_run=True)
    check_outcome(outcome, "ok", "dry run")
    assert not flag.exists()
    assert f"touch {flag}" in log_text(ctx)


def probe(server: SshdServer, **fields: object) -> Outcome:
    entry = server.host_entry()
    check = SshProbe(host=entry.name, **fields)  # type: ignore[arg-type]
    ctx = make_ctx(check, hosts={entry.name: entry})
    _OPEN.append(ctx.resources)
    return probe_ssh(check, ctx)


def test_ssh_probe_expectations(sshd: SshdServer) -> None:
    ok = probe(sshd, command="echo role=primary; echo lag=0", contains="role=primary", matches=r"^lag=\d+$")
    check_outcome(ok, "ok", "output contains 'role=primary'", "on dr-db-1")
    bad = probe(sshd, command="echo role=standby; exit 2", contains="role=primary", matches="lag=")
    check_outcome(
        bad,
        "failed",
        "expected exit code 0, observed 2",
        "expected the output to contain 'role=primary', observed last line 'role=standby'",
        "expected the output to match /lag=/",
    )
    check_outcome(probe(sshd, command="exit 4", exit_code=4), "ok")
