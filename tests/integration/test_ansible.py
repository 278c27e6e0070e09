"""The `ansible` executor against the real ansible-playbook (local connection and a real sshd)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sshd import ListLog, SshdServer, free_port, keygen

from bcdrill.executors.ansible import run_ansible
from bcdrill.executors.base import EventList, Outcome, Resources, RunOptions, StepContext
from bcdrill.scenario.model import AnsibleAction, Pos, Scenario, Step

pytestmark = pytest.mark.integration

PLAYBOOKS = Path(__file__).parent / "playbooks"


@dataclass
class Harness:
    ctx: StepContext
    events: EventList
    log: ListLog

    def run(self) -> Outcome:
        action = self.ctx.step.action
        assert isinstance(action, AnsibleAction)
        return run_ansible(action, self.ctx, check=self.ctx.options.dry_run)  # as the dry run does

    def tasks(self) -> list[Mapping[str, object]]:
        return [payload for kind, payload in self.events.events if kind == "ansible_task"]


def harness(
    run_dir: Path,
    playbook: str,
    *,
    extravars: dict[str, Any] | None = None,
    inventory: Path | None = None,
    timeout: float | None = 60.0,
    dry_run: bool = False,
    secrets: tuple[str, ...] = (),
    cancel: threading.Event | None = None,
) -> Harness:
    action = AnsibleAction(
        playbook=str(PLAYBOOKS / playbook),
        extravars=extravars or {},
        inventory=str(inventory) if inventory else None,
    )
    step = Step(id="failover", action=action, pos=Pos("t.yaml", 1, 1), timeout=timeout)
    scenario = Scenario(
        path=str(run_dir / "t.yaml"),
        sha256="0" * 64,
        version=1,
        name="t",
        title="t",
        environment="lab",
        secrets=secrets,
        steps=(step,),
    )
    events = EventList()
    log = ListLog()
    ctx = StepContext(
        step=step,
        scenario=scenario,
        run_dir=run_dir,
        attempt=1,
        deadline=None if timeout is None else time.monotonic() + timeout,
        cancel=cancel or threading.Event(),
        log=log,
        emit=events,
        options=RunOptions(dry_run=dry_run),
        resources=Resources(),
    )
    return Harness(ctx, events, log)


def local_inventory(path: Path, *names: str) -> Path:
    lines = [f"{n} ansible_connection=local ansible_python_interpreter={sys.executable}" for n in names]
    path.write_text("\n".join(lines) + "\n")
    return path


def all_artifact_text(run_dir: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (run_dir / "artifacts").rglob("*") if p.is_file())


def test_local_playbook_ok_journals_every_task_with_ansible_times(tmp_path: Path) -> None:
    target = tmp_path / "touched"
    h = harness(tmp_path, "local_ok.yml", extravars={"target_file": str(target)})
    outcome = h.run()
    assert outcome.status == "ok", outcome
    assert outcome.exit_code == 0
    assert outcome.detail == "playbook ok on 1 host (1 changed)"
    assert outcome.last_line == "item b"  # the last debug msg (usable by rpo_of)
    assert target.exists()
    statuses = [(t["task"], t["status"], t.get("item")) for t in h.tasks()]
    assert statuses == [
        ("Say hello", "ok", None),
        ("Touch a file", "changed", None),
        ("Skipped task", "skipped", None),
        ("Loop items", "ok", "a"),
        ("Loop items", "ok", "b"),
        ("Loop items", "ok", None),
    ]
    first = h.tasks()[0]
    assert first["step"] == "failover" and first["host"] == "localhost" and first["play"] == "Local play"
    assert first["action"] == "ansible.builtin.debug"
    assert first["start"] < first["end"] and 0 <= first["duration"] < 30
    assert "PLAY RECAP" in h.log.text and "hello world" in h.log.text
    artifacts = tmp_path / "artifacts" / "failover-1"
    assert outcome.observed["artifacts"] == "artifacts/failover-1"
    assert (artifacts / "rc").read_text() == "0" and list((artifacts / "job_events").iterdir())


def test_failing_task_on_one_of_three_hosts_names_the_host(tmp_path: Path) -> None:
    inventory = local_inventory(tmp_path / "hosts.ini", "h1", "h2", "h3")
    outcome = harness(tmp_path, "fail_on_h2.yml", inventory=inventory).run()
    assert outcome.status == "failed", outcome
    assert outcome.exit_code == 2
    assert outcome.detail == (
        "task 'Promote standby' failed on h2: standby not ready on h2 (1 of 3 hosts failed)"
    )


def test_dry_run_runs_in_check_mode_and_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "must-not-exist"
    h = harness(tmp_path, "check_mode.yml", extravars={"target_file": str(target)}, dry_run=True)
    outcome = h.run()
    assert outcome.status == "ok", outcome
    assert outcome.detail.startswith("check mode: ")
    assert not target.exists()
    assert [t["status"] for t in h.tasks()] == ["changed"]  # would change
    assert "--check" in (tmp_path / "artifacts" / "failover-1" / "command").read_text()


def _survivors(marker: str) -> str:
    return subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout


def test_timeout_cancels_the_run_and_leaves_no_process_behind(tmp_path: Path) -> None:
    marker = f"bcdrill-sleep-{uuid.uuid4().hex}"
    h = harness(tmp_path, "sleep.yml", extravars={"marker": marker}, timeout=3.0)
    started = time.monotonic()
    outcome = h.run()
    elapsed = time.monotonic() - started
    assert outcome.status == "timeout", outcome
    assert outcome.detail == "ansible-playbook exceeded its timeout of 3.0s; cancelled"
    assert elapsed < 3.0 + 4.0, elapsed  # stopped promptly (grace is 1 s)
    assert _survivors(marker) == ""


def test_cancel_stops_the_run(tmp_path: Path) -> None:
    marker = f"bcdrill-sleep-{uuid.uuid4().hex}"
    cancel = threading.Event()
    h = harness(tmp_path, "sleep.yml", extravars={"marker": marker}, timeout=None, cancel=cancel)
    timer = threading.Timer(2.0, cancel.set)
    timer.start()
    try:
        outcome = h.run()
    finally:
        timer.cancel()
    assert outcome.status == "cancelled", outcome
    assert _survivors(marker) == ""


def test_extravars_reach_the_playbook_and_secrets_are_written_nowhere(tmp_path: Path) -> None:
    password, token, note = "pw-Zq81x", "tok-77AbC", "note-secret-3"
    out_file = tmp_path / "received"
    extravars = {
        "greeting": "bonjour",
        "db_password": password,  # secret by name
        "api_token": token,  # secret by name
        "note": note,  # secret because the scenario lists its value
        "out_file": str(out_file),
        "fail_with_token": True,
    }
    h = harness(tmp_path, "extravars.yml", extravars=extravars, secrets=(note,))
    outcome = h.run()
    assert out_file.read_text() == password  # the value reached Ansible
    assert outcome.status == "failed" and "bad token ***" in outcome.detail, outcome
    assert "greeting=bonjour password=*** token=*** note=***" in h.log.text
    everything = h.log.text + repr(h.events.events) + outcome.detail + all_artifact_text(tmp_path)
    for secret in (password, token, note):
        assert secret not in everything
    assert not (tmp_path / "artifacts" / "failover-1" / "env" / "extravars").exists()
    assert '"env"' not in (tmp_path / "artifacts" / "failover-1" / "command").read_text()


# ---- over a real sshd: pipelining and host key checking on ---------------------------------------


def ssh_inventory(path: Path, server: SshdServer, known_hosts: Path, port: int | None = None) -> Path:
    args = f"-o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null"
    path.write_text(
        f"dr-db-1 ansible_host={server.host} ansible_port={port or server.port} ansible_user={server.user} "
        f"ansible_ssh_private_key_file={server.user_key} ansible_python_interpreter={sys.executable} "
        f"ansible_ssh_common_args='{args}'\n"
    )
    return path


def test_playbook_over_ssh_with_the_right_host_key(
    tmp_path: Path, sshd: SshdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_tmp = tempfile.mkdtemp(prefix="bt-", dir="/tmp")  # short: ssh's ControlPath limit is 108 bytes
    monkeypatch.setattr(tempfile, "tempdir", own_tmp)  # this run's control dir, and no other, is in it
    inventory = ssh_inventory(tmp_path / "hosts.ini", sshd, sshd.known_hosts)
    h = harness(tmp_path, "ssh_echo.yml", inventory=inventory)
    outcome = h.run()
    assert outcome.status == "ok", (outcome, h.log.text)
    assert outcome.last_line == "ssh-ok-dr-db-1"
    assert [t["status"] for t in h.tasks()] == ["ok", "ok"]
    assert _survivors(f"{own_tmp}/bcdrill-ans-") == ""  # this run's ControlPersist masters are stopped
    shutil.rmtree(own_tmp, ignore_errors=True)


def test_playbook_over_ssh_refuses_a_wrong_host_key(tmp_path: Path, sshd: SshdServer) -> None:
    other = keygen(tmp_path / "other_host_key")
    key_type, key = Path(f"{other}.pub").read_text().split()[:2]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[{sshd.host}]:{sshd.port} {key_type} {key}\n")
    inventory = ssh_inventory(tmp_path / "hosts.ini", sshd, wrong)
    outcome = harness(tmp_path, "ssh_echo.yml", inventory=inventory).run()
    assert outcome.status == "failed", outcome
    assert outcome.detail == (
        "host dr-db-1 unreachable in task 'Run a command on the host': Host key verification failed: "
        "the host key differs from known_hosts (REMOTE HOST IDENTIFICATION HAS CHANGED)"
        " (1 of 1 hosts unreachable)"
    )


def test_playbook_over_ssh_refuses_an_unknown_host(tmp_path: Path, sshd: SshdServer) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    inventory = ssh_inventory(tmp_path / "hosts.ini", sshd, empty)
    outcome = harness(tmp_path, "ssh_echo.yml", inventory=inventory).run()
    assert outcome.status == "failed", outcome
    assert "Host key verification failed: the host key is not in known_hosts" in outcome.detail
    assert empty.read_text() == ""  # nothing was learned


def test_unreachable_host_detail_names_host_and_reason(tmp_path: Path, sshd: SshdServer) -> None:
    inventory = ssh_inventory(tmp_path / "hosts.ini", sshd, sshd.known_hosts, port=free_port())
    outcome = harness(tmp_path, "ssh_echo.yml", inventory=inventory).run()
    assert outcome.status == "failed", outcome
    assert outcome.exit_code == 4
    assert outcome.detail.startswith("host dr-db-1 unreachable in task 'Run a command on the host': ")
    assert "Connection refused" in outcome.detail and "(1 of 1 hosts unreachable)" in outcome.detail


@pytest.mark.parametrize(
    "payload",
    ["{{ lookup('pipe', 'touch PWNED_FILE') }}", "{{ 7*7 }}", "{% if true %}x{% endif %}"],
)
def test_extravars_reach_ansible_as_data_never_as_templates(tmp_path: Path, payload: str) -> None:
    pwned = tmp_path / "PWNED"
    out_file = tmp_path / "out"
    value = payload.replace("PWNED_FILE", str(pwned))
    extravars = {"msg": value, "nested": {"items_": [value]}, "out_file": str(out_file)}
    h = harness(tmp_path, "echo_var.yml", extravars=extravars)
    outcome = h.run()
    assert outcome.status == "ok", (outcome, h.log.text)
    assert out_file.read_text() == f"{value}|{value}"  # the literal text, not 49, not a command's output
    assert not pwned.exists()
