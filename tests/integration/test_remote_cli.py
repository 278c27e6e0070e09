"""Remote execution end to end: the real `drill run` CLI against a real sshd and the real ansible-playbook.

Scenarios are written as a new user would (a `hosts:` map, or an Ansible inventory with group_vars and
host_vars) and run as a subprocess; only the run directory is inspected: journal, logs, artifacts.
Nothing here is timed (speed is measured in bench/bench_remote.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from sshd import SshdServer, free_port, keygen

pytestmark = pytest.mark.integration

REMOTE = Path(__file__).parent / "remote"


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}  # only the configured keys
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def scenario(tmp_path: Path, name: str, body: str, more_steps: str = "") -> Path:
    """A scenario file from `body` (dedented) and `more_steps` (appended as is, indented by 2)."""
    path = tmp_path / f"{name}.yaml"
    head = f"version: 1\nname: {name}\ntitle: {name}\nenvironment: lab\n"
    path.write_text(head + textwrap.dedent(body) + more_steps, encoding="utf-8")
    return path


def journal(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def finished(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The last step.finished event of each step."""
    return {e["step"]: e for e in journal(run_dir) if e["event"] == "step.finished"}


def tasks(run_dir: Path) -> list[dict[str, Any]]:
    return [e for e in journal(run_dir) if e["event"] == "ansible.task"]


def pgrep(marker: str) -> str:
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
    return "\n".join(line for line in found.splitlines() if "pgrep" not in line)


def other_host_key_line(server: SshdServer, tmp_path: Path) -> str:
    other = keygen(tmp_path / f"other-{uuid.uuid4().hex[:6]}")
    key_type, key = Path(f"{other}.pub").read_text().split()[:2]
    return f"[{server.host}]:{server.port} {key_type} {key}\n"


def fleet_inventory(path: Path, server: SshdServer, count: int, group: str = "fleet") -> Path:
    """`count` inventory aliases for the one sshd (as a fleet behind one address would look)."""
    args = f"-o UserKnownHostsFile={server.known_hosts} -o GlobalKnownHostsFile=/dev/null"
    lines = [f"[{group}]"]
    lines += [f"h{i:02d} slot={i}" for i in range(1, count + 1)]
    lines += [
        f"[{group}:vars]",
        f"ansible_host={server.host}",
        f"ansible_port={server.port}",
        f"ansible_user={server.user}",
        f"ansible_ssh_private_key_file={server.user_key}",
        f"ansible_python_interpreter={sys.executable}",
        f"ansible_ssh_common_args='{args}'",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def yaml_inventory(directory: Path, server: SshdServer) -> Path:
    """A YAML inventory with group_vars/ and host_vars/: three DR databases on the one sshd."""
    (directory / "group_vars").mkdir(parents=True)
    (directory / "host_vars").mkdir()
    (directory / "hosts.yml").write_text(
        "all:\n  children:\n    dr_db:\n      hosts:\n        db1: {}\n        db2: {}\n        db3: {}\n"
    )
    args = f"-o UserKnownHostsFile={server.known_hosts} -o GlobalKnownHostsFile=/dev/null"
    (directory / "group_vars" / "all.yml").write_text(
        f"ansible_host: {server.host}\nansible_port: {server.port}\nansible_user: {server.user}\n"
        f"ansible_ssh_private_key_file: {server.user_key}\nansible_python_interpreter: {sys.executable}\n"
        f'ansible_ssh_common_args: "{args}"\n'
    )
    (directory / "group_vars" / "dr_db.yml").write_text("db_role: standby\n")
    (directory / "host_vars" / "db2.yml").write_text("db_role: primary\nlag_file: /srv/db2/lag\n")
    return directory / "hosts.yml"


def test_ssh_failure_modes_each_get_a_distinct_detail(sshd: SshdServer, tmp_path: Path) -> None:
    marker = f"QAHANG{uuid.uuid4().hex[:10]}"
    changed = tmp_path / "changed_known_hosts"
    changed.write_text(other_host_key_line(sshd, tmp_path))
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    wrong_key = keygen(tmp_path / "wrong_user_key")
    entry = f"address: {sshd.host}, port: {sshd.port}"
    path = scenario(
        tmp_path,
        "ssh-modes",
        f"""\
        systems:
          core: {{title: Core, tier: 1, rto: 10m, rpo: 30m}}
        # every entry points at the same sshd: each must still be verified and authenticated on its own
        hosts:
          good: {{{entry}, key: {sshd.user_key}, known_hosts: {sshd.known_hosts}}}
          changed: {{{entry}, key: {sshd.user_key}, known_hosts: {changed}, accept_unknown_host_key: true}}
          unknown: {{{entry}, key: {sshd.user_key}, known_hosts: {empty}}}
          badauth: {{{entry}, key: {wrong_key}, known_hosts: {sshd.known_hosts}}}
          down: {{address: 127.0.0.1, port: {free_port()}, key: {sshd.user_key}, known_hosts: {empty}}}
        defaults: {{timeout: 1m, on_failure: continue}}
        steps:
          - id: declare
            manual: {{prompt: go}}
            declares: true
          - id: ok
            ssh: {{host: good, command: "echo out; echo err >&2; exit 0"}}
          - id: changed-key
            needs: [ok]
            ssh: {{host: changed, command: "echo must-not-run"}}
          - id: unknown-key
            needs: [ok]
            ssh: {{host: unknown, command: "echo must-not-run"}}
          - id: auth
            needs: [ok]
            ssh: {{host: badauth, command: "echo must-not-run"}}
          - id: unreachable
            needs: [ok]
            ssh: {{host: down, command: "echo must-not-run"}}
          - id: exit3
            needs: [ok]
            ssh: {{host: good, command: "echo bad thing; exit 3"}}
          - id: hang
            needs: [ok]
            timeout: 2s
            ssh: {{host: good, command: "sh -c 'sleep 300 # {marker}-child' & sleep 301 # {marker}"}}
          - id: rpo
            needs: [ok]
            systems: [core]
            ssh: {{host: good, command: "echo noise; date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ"}}
            rpo_of: [core]
          - id: up
            needs: [rpo]
            systems: [core]
            check: {{ssh: {{host: good, command: "echo CORE-OK", contains: CORE-OK}}}}
            recovers: [core]
        """,
    )
    run_dir = tmp_path / "run"
    proc = drill("run", str(path), "--auto-ack", "--run-dir", str(run_dir), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    steps = finished(run_dir)
    assert steps["ok"]["status"] == "ok" and steps["ok"]["exit_code"] == 0
    assert (run_dir / "logs" / "ok.log").read_text().count("err\n") == 1

    assert steps["changed-key"]["status"] == "failed"
    assert steps["changed-key"]["detail"].startswith(f"REMOTE HOST KEY CHANGED for 127.0.0.1:{sshd.port}: ")
    assert "possible man-in-the-middle attack" in steps["changed-key"]["detail"]
    assert steps["unknown-key"]["detail"].startswith(f"host key of 127.0.0.1:{sshd.port} is not in {empty}")
    assert "ssh-keyscan" in steps["unknown-key"]["detail"]
    assert steps["auth"]["detail"].startswith(f"authentication failed for {sshd.user}@127.0.0.1:")
    assert str(wrong_key) in steps["auth"]["detail"]
    assert steps["unreachable"]["detail"].startswith("cannot connect to 127.0.0.1:")
    assert "Connection refused" in steps["unreachable"]["detail"]
    for step in ("changed-key", "unknown-key", "auth", "unreachable"):
        assert steps[step]["status"] == "failed", steps[step]
        assert "must-not-run" not in (run_dir / "logs" / f"{step}.log").read_text()

    assert steps["exit3"]["status"] == "failed" and steps["exit3"]["exit_code"] == 3
    assert steps["exit3"]["detail"] == f"exit code 3 on good (127.0.0.1:{sshd.port}): bad thing"

    assert steps["hang"]["status"] == "timeout"
    assert steps["hang"]["detail"].startswith(
        f"remote command timed out after 2s on good (127.0.0.1:{sshd.port})"
    )
    assert "killed" in steps["hang"]["detail"]
    assert pgrep(marker) == ""  # the command and its background child are gone

    rpo = [e for e in journal(run_dir) if e["event"] == "system.rpo"]
    assert [(e["system"], e["step"]) for e in rpo] == [("core", "rpo")]
    assert 4 * 60 < rpo[0]["rpo"] < 10 * 60
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["systems"]["core"]["rpo_met"] is True and summary["systems"]["core"]["rto_met"] is True


def test_inventory_playbook_failing_on_one_host_of_three(sshd: SshdServer, tmp_path: Path) -> None:
    inventory = yaml_inventory(tmp_path / "inv", sshd)
    markers = tmp_path / "markers"
    markers.mkdir()
    canary = f"CANARY-{uuid.uuid4().hex}"
    path = scenario(
        tmp_path,
        "inv-drill",
        f"""\
        inventory: inv/hosts.yml
        vars: {{api_token: placeholder}}
        systems:
          core: {{title: Core, tier: 1, rto: 10m}}
          img: {{title: Imaging, tier: 2, rto: 10m, rpo: 10m}}
        defaults: {{timeout: 3m, on_failure: continue}}
        steps:
          - id: template
            ssh:
              host: db2
              command: >-
                echo role={{{{ hostvars['db2'].db_role }}}} lag={{{{ hostvars['db2'].lag_file }}}}
                db1={{{{ hostvars['db1'].db_role }}}} group={{{{ groups.dr_db | join(',') }}}}
                tok={{{{ api_token }}}}
          - id: failover
            needs: [template]
            systems: [core]
            ansible:
              playbook: {REMOTE / "promote.yml"}
              extravars: {{api_token: "{{{{ api_token }}}}", marker_dir: {markers}}}
            recovers: [core]
          - id: img-rpo
            needs: []
            systems: [img]
            check: {{python: "{REMOTE / "checks" / "newest.py"}:newest", args: {{path: /srv/img, lag: 120}}}}
            recovers: [img]
            rpo_of: [img]
        """,
    )
    run_dir = tmp_path / "run"
    args = ("run", str(path), "--run-dir", str(run_dir), "--var", f"api_token={canary}")
    proc = drill(*args, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    steps = finished(run_dir)

    log = (run_dir / "logs" / "template.log").read_text()
    assert "role=primary lag=/srv/db2/lag db1=standby group=db1,db2,db3 tok=***" in log

    assert steps["failover"]["status"] == "failed"
    assert steps["failover"]["exit_code"] == 2
    assert steps["failover"]["detail"] == (
        "task 'Promote standby' failed on db2: non-zero return code: promotion refused on db2"
        " (1 of 3 hosts failed)"
    )
    assert sorted(p.name for p in markers.iterdir()) == ["promoted-db1", "promoted-db3"]
    results = tasks(run_dir)
    assert {(t["host"], t["task"], t["status"]) for t in results if t["task"] == "Promote standby"} == {
        ("db1", "Promote standby", "changed"),
        ("db2", "Promote standby", "failed"),
        ("db3", "Promote standby", "changed"),
    }
    for task in results:  # Ansible's own times, not the drill's
        assert task["step"] == "failover"
        assert task["start"].endswith("+00:00") and task["end"].endswith("+00:00"), task
        assert isinstance(task["duration"], float) and task["duration"] >= 0, task
    assert len(results) == 3 + 3 + 2 + 2  # db2 stops after its failed task
    artifacts = run_dir / "artifacts" / "failover-1"
    assert (artifacts / "job_events").is_dir()
    command = json.loads((artifacts / "command").read_text())["command"]
    assert command[command.index("-i") + 1] == str(inventory)  # by absolute path

    rpo = [e for e in journal(run_dir) if e["event"] == "system.rpo"]
    assert [(e["system"], e["step"]) for e in rpo] == [("img", "img-rpo")]
    assert 110 < rpo[0]["rpo"] < 600

    leaks = subprocess.run(["grep", "-rl", canary, str(run_dir)], capture_output=True, text=True)
    assert leaks.stdout == "", f"the secret reached: {leaks.stdout}"
    assert "token ***" in (run_dir / "logs" / "failover.log").read_text()


def test_dry_run_runs_playbooks_in_check_mode_and_no_ssh_command(sshd: SshdServer, tmp_path: Path) -> None:
    yaml_inventory(tmp_path / "inv", sshd)
    markers = tmp_path / "markers"
    markers.mkdir()
    touched = tmp_path / "touched"
    path = scenario(
        tmp_path,
        "dry",
        f"""\
        inventory: inv/hosts.yml
        defaults: {{timeout: 3m, on_failure: continue}}
        steps:
          - id: touch
            ssh: {{host: db1, command: "touch {touched}"}}
          - id: failover
            ansible:
              playbook: {REMOTE / "promote.yml"}
              extravars: {{api_token: dry-token-value, marker_dir: {markers}}}
        """,
    )
    run_dir = tmp_path / "run"
    proc = drill("run", str(path), "--dry-run", "--run-dir", str(run_dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    steps = finished(run_dir)
    assert steps["touch"]["status"] == "ok" and not touched.exists()
    assert steps["failover"]["detail"].startswith("check mode: playbook ok on 3 hosts")
    assert list(markers.iterdir()) == []  # check mode changed nothing
    statuses = {(t["task"], t["status"]) for t in tasks(run_dir)}
    assert ("Promote standby", "skipped") in statuses  # shell does not run in check mode
    assert ("Write marker", "changed") in statuses  # would change
    command = json.loads((run_dir / "artifacts" / "failover-1" / "command").read_text())["command"]
    assert "--check" in command


def test_fifty_hosts_parallel_ssh_steps_and_a_fleet_playbook(sshd: SshdServer, tmp_path: Path) -> None:
    """50 inventory aliases of one sshd: one shared connection, more parallel commands than OpenSSH's
    MaxSessions (10) allows at once, so steps wait for a free session instead of failing."""
    fleet_inventory(tmp_path / "fleet.ini", sshd, 50)
    steps = "".join(
        f"  - id: s{i:02d}\n    needs: []\n"
        f'    ssh: {{host: h{i:02d}, command: "echo slot={{{{ hostvars.h{i:02d}.slot }}}}; sleep 0.5"}}\n'
        for i in range(1, 51)
    )
    path = scenario(
        tmp_path,
        "fleet",
        f"""\
        inventory: fleet.ini
        defaults: {{timeout: 3m, on_failure: continue}}
        steps:
          - id: playbook
            needs: []
            ansible: {{playbook: {REMOTE / "fleet.yml"}}}
        """,
        steps,
    )
    run_dir = tmp_path / "run"
    proc = drill("run", str(path), "--parallel", "51", "--run-dir", str(run_dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Secsh channel" not in proc.stderr  # paramiko's own logging stays off the console
    result = finished(run_dir)
    assert all(e["status"] == "ok" for e in result.values()), [
        e for e in result.values() if e["status"] != "ok"
    ]
    for i in (1, 27, 50):
        assert f"slot={i}\n" in (run_dir / "logs" / f"s{i:02d}.log").read_text()
    assert result["playbook"]["detail"] == "playbook ok on 50 hosts (0 changed)"
    assert len({t["host"] for t in tasks(run_dir)}) == 50


def test_timeouts_kill_commands_even_when_every_session_is_busy(sshd: SshdServer, tmp_path: Path) -> None:
    """12 hung commands on one connection: 10 run (MaxSessions), 2 wait for a session; on timeout every
    started command is killed (over a second connection when no session is free) and the waiting
    steps time out too."""
    marker = f"QABUSY{uuid.uuid4().hex[:10]}"
    fleet_inventory(tmp_path / "fleet.ini", sshd, 1)
    steps = "".join(
        f'  - id: hang{i:02d}\n    needs: []\n    ssh: {{host: h01, command: "sleep 300 # {marker}"}}\n'
        for i in range(1, 13)
    )
    path = scenario(
        tmp_path,
        "busy",
        """\
        inventory: fleet.ini
        defaults: {timeout: 4s, on_failure: continue}
        steps:
        """,
        steps,
    )
    run_dir = tmp_path / "run"
    proc = drill("run", str(path), "--parallel", "12", "--run-dir", str(run_dir), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = finished(run_dir)
    assert {e["status"] for e in result.values()} == {"timeout"}, result
    killed = [e for e in result.values() if "killed" in e["detail"]]
    waited = [e for e in result.values() if e["detail"].startswith("no free SSH session on ")]
    assert len(killed) + len(waited) == 12, [e["detail"] for e in result.values()]
    assert len(killed) >= 1
    assert pgrep(marker) == ""
