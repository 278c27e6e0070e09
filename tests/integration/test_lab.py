"""The built-in lab, for real: processes, sockets, replication, failover, faults, Ansible playbooks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from labtools import free_port_base, lab_processes

from bcdrill.lab import lab_down, lab_status, lab_up, render_status
from bcdrill.lab.clients import WriteRefused
from bcdrill.lab.config import LabError
from bcdrill.lab.control import Lab
from bcdrill.lab.verify import lab_ready, newest_at, service_at, sites_consistent

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def lab_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    lab_dir = tmp_path / "lab"
    monkeypatch.setenv("BCDRILL_LAB_PORT_BASE", str(free_port_base()))
    monkeypatch.setenv("BCDRILL_LAB_DIR", str(lab_dir))
    yield lab_dir
    lab_down(lab_dir)
    assert lab_processes(lab_dir) == []


def _poll(predicate: object, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_lab_failover_rpo_switchback_and_down(lab_env: Path) -> None:
    status = lab_up(lab_env, [])
    assert len([i for i in status.instances if i.answering]) == 14
    assert status.processes == {"gateway": True, "workload": True}
    assert "core-individual" in render_status(status)
    lab = Lab(lab_env)
    _replication_runs_with_the_configured_lag(lab)
    _standby_is_read_only(lab)
    t0 = _fail_over(lab, "core-group")
    rpo = t0 - (lab.newest("core-group", "dr", "prod") or 0)
    assert 2.0 <= rpo <= 2.0 + 1.5, rpo  # the configured lag, plus one write interval of slack
    assert newest_at("core-group")["ok"]
    _poll(lambda: service_at("core-group", "dr")["ok"])
    lab.switchback("core-group", 60, lambda _line: None)
    assert lab.status("core-group", "prod")["role"] == "primary"
    assert lab.status("core-group", "dr")["role"] == "standby"
    _poll(lambda: sites_consistent("core-group")["ok"])
    assert lab_ready(max_lag=30)["ok"]
    lab_down(lab_env)
    assert lab_processes(lab_env) == []
    assert not lab_status(lab_env).up
    lab_down(lab_env)  # idempotent


def _replication_runs_with_the_configured_lag(lab: Lab) -> None:
    time.sleep(3)
    for system in ("core-individual", "mail"):
        prod, dr = lab.status(system, "prod"), lab.status(system, "dr")
        lag = lab.layout.system(system).lag
        assert dr["follower"]["connected"]
        assert prod["records"] > 288 and dr["records"] > 288  # the seeded history plus live writes
        assert lag - 1.0 <= dr["follower"]["lag"] <= lag + 1.0, dr["follower"]
        assert time.time() - dr["newest"] <= lag + 1.5
        assert prod["newest"] > dr["newest"]


def _standby_is_read_only(lab: Lab) -> None:
    for system in lab.systems("all"):
        with pytest.raises(WriteRefused, match="read-only standby"):
            lab.write(system, "dr")
        with pytest.raises(LabError, match="refusing to route users"):
            lab.switch(system, "dr")


def _fail_over(lab: Lab, system: str) -> float:
    for flag, site in (("outage", "prod"), ("link", "prod"), ("link", "dr"), ("replication", "dr")):
        lab.set_flag(system, site, flag, flag == "outage")
        if flag == "outage":
            t0 = time.time()
    with pytest.raises(WriteRefused, match="outage"):
        lab.write(system, "entry")
    lab.promote(system, "dr", 30)
    lab.switch(system, "dr")
    return t0


def test_faults_make_the_drill_go_wrong(lab_env: Path) -> None:
    faults = ["standby-down=mail", "slow-promote=e-sales:3s", "repl-lag=website:40s"]
    status = lab_up(lab_env, faults)
    mail_dr = next(i for i in status.instances if i.system == "mail" and i.site == "dr")
    assert not mail_dr.answering and "standby-down" in mail_dr.state
    lab = Lab(lab_env)
    lab.set_flag("mail", "prod", "outage", True)
    with pytest.raises(LabError, match="not reachable"):
        lab.promote("mail", "dr", 5)
    with pytest.raises(LabError, match="refusing to route users"):
        lab.switch("mail", "dr")
    lab.switchback("mail", 10, lambda _line: None)  # DR never took over: production resumes
    assert service_at("mail", "prod")["ok"]
    started = time.monotonic()
    lab.promote("e-sales", "dr", 30)
    assert time.monotonic() - started >= 3.0
    time.sleep(3)
    website = lab.status("website", "dr")
    assert website["configured_lag"] == 40.0
    assert time.time() - website["newest"] > 40  # nothing of the live workload has arrived yet
    assert lab.status("website", "prod")["newest"] > time.time() - 2


def test_playbooks_fail_over_and_switch_back(lab_env: Path) -> None:
    lab_up(lab_env, [])
    lab = Lab(lab_env)

    def play(name: str, *extra: str) -> None:
        cmd = [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "scenarios/lab-inventory.ini",
            f"playbooks/{name}.yml",
            *extra,
        ]
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, env=os.environ)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

    play("stop_production", "-l", "website,mcde")
    assert lab.status("website", "prod")["outage"]
    play("isolate", "-l", "website,mcde")
    play("stop_replication", "-l", "website,mcde")
    play("failover", "-l", "website")
    assert lab.status("website", "dr")["role"] == "primary"
    assert service_at("website", "dr")["ok"]
    play("verify", "-l", "website")
    play("switchback", "-l", "website,mcde")  # mcde never failed over: production just resumes
    for system in ("website", "mcde"):
        assert lab.status(system, "prod")["role"] == "primary"
        assert service_at(system, "prod")["ok"]
    assert sites_consistent("website")["ok"]
