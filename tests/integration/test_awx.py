"""`awx` steps end to end: `drill run` against the AWX contract stand-in (not AWX: see awx_standin.py),
whose jobs run real ansible-playbook through ansible-runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awx_standin import StandIn
from sshd import free_port

from bcdrill.executors.transport.awx import AwxClient, AwxError, Controller
from bcdrill.executors.transport.awxlaunch import LaunchSpec, find_template, launch
from bcdrill.executors.transport.proctree import find_processes

PLAYBOOKS = Path(__file__).parent / "playbooks" / "awx"
TOKEN = "s3cr3t-awx-token-4d1f"


@pytest.fixture
def awx(tmp_path: Path) -> Iterator[StandIn]:
    standin = StandIn(token=TOKEN, workdir=tmp_path / "standin")
    ask = {"limit", "variables", "job_type"}
    standin.add_template("DB failover", PLAYBOOKS / "failover.yml", ask=ask)
    standin.add_template("DB failover broken", PLAYBOOKS / "fail.yml", ask=ask)
    standin.add_template("Long job", PLAYBOOKS / "hang.yml", ask=ask)
    standin.add_template("No capacity", PLAYBOOKS / "failover.yml", hold_pending=True)
    survey = [{"variable": "confirm_site", "required": True}]
    standin.add_template("Needs a survey answer", PLAYBOOKS / "failover.yml", survey=survey)
    yield standin
    standin.close()


def scenario(tmp_path: Path, url: str, steps: str, connection: str = "") -> Path:
    path = tmp_path / "drill.yaml"
    path.write_text(
        "version: 1\nname: awx-drill\ntitle: AWX drill\nenvironment: lab\n"
        f"awx: {{url: '{url}', token_var: AWX_TOKEN, poll_interval: 0.2{connection}}}\n"
        f"defaults: {{on_failure: continue}}\nsteps:\n{steps}",
        encoding="utf-8",
    )
    return path


def drill(*args: str, token: str = TOKEN, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWX_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def journal(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def events(run_dir: Path, name: str) -> list[dict[str, Any]]:
    return [e for e in journal(run_dir) if e["event"] == name]


def finished(run_dir: Path, step: str) -> dict[str, Any]:
    return [e for e in events(run_dir, "step.finished") if e["step"] == step][-1]


def run_step(tmp_path: Path, url: str, awx_step: str, *extra: str, **kw: Any) -> tuple[int, Path]:
    steps = f"  - id: failover\n    timeout: {kw.pop('timeout', '2m')}\n    awx: {awx_step}\n"
    path = scenario(tmp_path, url, steps, kw.pop("connection", ""))
    run_dir = tmp_path / "run"
    result = drill("run", str(path), "--run-dir", str(run_dir), *extra, cwd=tmp_path, **kw)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, run_dir


def test_a_job_template_runs_and_each_task_result_carries_the_engines_own_times(
    awx: StandIn, tmp_path: Path
) -> None:
    url = awx.serve()
    step = "{template: DB failover, limit: dr, extra_vars: {site: dr-east, db_password: pw-9f8e}}"
    code, run_dir = run_step(tmp_path, url, step)
    assert code == 0, finished(run_dir, "failover")
    (launched,) = events(run_dir, "awx.job")
    assert finished(run_dir, "failover")["detail"].startswith(f"job {launched['job']} successful: ")
    job = awx.engine.jobs[launched["job"]]
    assert (launched["type"], launched["template"], launched["job_type"]) == ("job", "DB failover", "run")
    assert awx.launches()[0].body == {
        "limit": "dr",
        "extra_vars": {"site": "dr-east", "db_password": "pw-9f8e"},
    }
    tasks = events(run_dir, "ansible.task")
    assert [(t["task"], t["host"], t["status"]) for t in tasks] == [
        ("Stop replication", "dr-1", "changed"),
        ("Promote standby", "dr-1", "ok"),
    ]
    engine = {e["event_data"]["task"]: e["event_data"] for e in job.events if e["event"] == "runner_on_ok"}
    for task in tasks:
        own = engine[task["task"]]
        assert (task["start"], task["end"], task["duration"]) == (own["start"], own["end"], own["duration"])
        assert task["awx_job"] == job.id
    assert tasks[0]["duration"] >= 0.4  # the task's `sleep 0.4`, as Ansible timed it on the engine
    log = (run_dir / "logs" / "failover.log").read_text(encoding="utf-8")
    assert "promoted dr-1 for site dr-east" in log
    written = [p for p in run_dir.rglob("*") if p.is_file() and p.name != "scenario.yaml"]  # input bytes
    left = "".join(p.read_text(errors="replace") for p in written)
    assert TOKEN not in left and "pw-9f8e" not in left  # the token and a secret-named extra var


def test_a_failed_job_fails_the_step_with_the_failed_task(awx: StandIn, tmp_path: Path) -> None:
    url = awx.serve()
    code, run_dir = run_step(tmp_path, url, "{template: DB failover broken, limit: dr}")
    assert code == 1
    end = finished(run_dir, "failover")
    assert end["status"] == "failed"
    assert "failed: task 'Promote standby' failed on dr-1: standby not ready on dr-1" in end["detail"]
    assert [t["status"] for t in events(run_dir, "ansible.task")] == ["failed"]


def test_a_timeout_cancels_the_job_on_the_controller_and_leaves_no_process(
    awx: StandIn, tmp_path: Path
) -> None:
    url = awx.serve()
    began = time.monotonic()
    code, run_dir = run_step(tmp_path, url, "{template: Long job}", timeout="4s")
    took = time.monotonic() - began
    assert code == 1
    end = finished(run_dir, "failover")
    assert end["status"] == "timeout"
    assert "exceeded the step's timeout of 4.0s; cancelled on the controller (canceled)" in end["detail"]
    (job,) = awx.engine.jobs.values()
    assert job.status == "canceled"
    assert any(r.method == "POST" and r.path.endswith(f"/jobs/{job.id}/cancel/") for r in awx.requests)
    assert not find_processes(env=f"AWX_STANDIN_JOB={job.marker}")  # no ansible-playbook, no sleep
    assert took < 60


def test_a_refused_token_fails_before_anything_runs(awx: StandIn, tmp_path: Path) -> None:
    url = awx.serve()
    code, run_dir = run_step(tmp_path, url, "{template: DB failover}", token="wrong-token")
    assert code == 1
    detail = finished(run_dir, "failover")["detail"]
    assert "the controller refused the token (401 Unauthorized)" in detail
    assert "check the token in AWX_TOKEN" in detail
    assert awx.launches() == [] and awx.engine.jobs == {}


def test_missing_survey_variables_fail_before_launch(awx: StandIn, tmp_path: Path) -> None:
    url = awx.serve()
    code, run_dir = run_step(tmp_path, url, "{template: Needs a survey answer}")
    assert code == 1
    detail = finished(run_dir, "failover")["detail"]
    assert "needs confirm_site to start" in detail and "add it under extra_vars" in detail
    assert awx.launches() == []
    # the controller's own refusal (400), for a launch that skipped the check
    client = AwxClient(Controller(url=url, token=TOKEN))
    spec = LaunchSpec(template="Needs a survey answer")
    with pytest.raises(AwxError, match="variables_needed_to_start: 'confirm_site' value missing"):
        launch(client, find_template(client, spec), spec, None)
    assert awx.engine.jobs == {}


def test_an_unreachable_controller_fails_the_step_clearly(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    code, run_dir = run_step(tmp_path, url, "{template: DB failover}")
    assert code == 1
    detail = finished(run_dir, "failover")["detail"]
    assert f"cannot reach the controller at {url}" in detail and "refused" in detail.lower()


def test_a_dry_run_launches_in_check_mode(awx: StandIn, tmp_path: Path) -> None:
    url = awx.serve()
    code, run_dir = run_step(tmp_path, url, "{template: DB failover, limit: dr}", "--dry-run")
    assert code == 0, finished(run_dir, "failover")
    assert awx.launches()[0].body == {"limit": "dr", "job_type": "check"}
    (job,) = awx.engine.jobs.values()
    assert job.job_type == "check"
    assert events(run_dir, "awx.job")[0]["job_type"] == "check"
    assert finished(run_dir, "failover")["detail"].startswith("check mode: job ")


def test_a_job_that_never_starts_is_cancelled(awx: StandIn, tmp_path: Path) -> None:
    url = awx.serve()
    code, run_dir = run_step(tmp_path, url, "{template: No capacity}", connection=", pending_timeout: 2s")
    assert code == 1
    detail = finished(run_dir, "failover")["detail"]
    assert "did not start within 2.0s (no capacity on the controller?); cancelled on the controller" in detail
    (job,) = awx.engine.jobs.values()
    assert job.status == "canceled"


@pytest.mark.parametrize("api", ["auto", "aap"])
def test_automation_platform_behind_its_gateway(tmp_path: Path, api: str) -> None:
    standin = StandIn(token=TOKEN, workdir=tmp_path / "standin", mode="aap")
    standin.add_template("DB failover", PLAYBOOKS / "failover.yml")
    try:
        url = standin.serve()
        code, run_dir = run_step(tmp_path, url, "{template: DB failover}", connection=f", api: {api}")
    finally:
        standin.close()
    assert code == 0, finished(run_dir, "failover")
    authorized = [r.path for r in standin.requests if r.authorized]
    assert authorized and all(p.startswith("/api/controller/v2/") for p in authorized)
    assert events(run_dir, "awx.job")[0]["url"].startswith(f"{url}/api/controller/v2/jobs/")
    assert len(events(run_dir, "ansible.task")) == 4  # two tasks on two hosts


WORKFLOW_STEPS = """\
  - id: failover
    timeout: 3m
    awx: {template: DR failover, workflow: true}
  - id: approve
    needs: []
    timeout: 2m
    manual: {prompt: Is the database ready at DR?, awx_approve: {step: failover, node: Approve the switch}}
"""


def wait_for(predicate: Any, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


@pytest.mark.parametrize("answer", ["pass", "fail"])
def test_a_manual_step_decides_the_approval_node_of_a_workflow(
    awx: StandIn, tmp_path: Path, answer: str
) -> None:
    awx.add_template("Switch traffic", PLAYBOOKS / "failover.yml")
    nodes = [("job", "DB failover"), ("approval", "Approve the switch"), ("job", "Switch traffic")]
    awx.add_workflow("DR failover", nodes)
    path = scenario(tmp_path, awx.serve(), WORKFLOW_STEPS)
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "bcdrill.cli", "run", str(path), "--run-dir", str(run_dir)]
    env = {**os.environ, "AWX_TOKEN": TOKEN}
    with subprocess.Popen(
        cmd, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        log = run_dir / "logs" / "approve.log"
        wait_for(lambda: log.exists() and "is pending" in log.read_text(encoding="utf-8"))
        verdict = ["--fail", "--note", "DB lag too high"] if answer == "fail" else ["--note", "DB checked"]
        ack = drill("ack", str(run_dir), "approve", "--by", "张三", *verdict, cwd=tmp_path)
        assert ack.returncode == 0, ack.stderr
        _, stderr = proc.communicate(timeout=120)
    assert b"Traceback" not in stderr
    (workflow,) = [j for j in awx.engine.jobs.values() if j.kind == "workflow_job"]
    (approval,) = [j for j in awx.engine.jobs.values() if j.kind == "workflow_approval"]
    verb = "approve" if answer == "pass" else "deny"
    assert any(r.path.endswith(f"/workflow_approvals/{approval.id}/{verb}/") for r in awx.requests)
    decision = finished(run_dir, "approve")
    (ack_event,) = events(run_dir, "manual.acknowledged")
    assert ack_event["by"] == "张三"
    task_jobs = {t["awx_job"] for t in events(run_dir, "ansible.task")}
    if answer == "pass":
        assert proc.returncode == 0
        assert (approval.status, workflow.status) == ("successful", "successful")
        assert decision["detail"].endswith(f"workflow approval {approval.id} ('Approve the switch') approved")
        assert len(task_jobs) == 2  # the task results of both jobs of the workflow
        assert finished(run_dir, "failover")["detail"].startswith(
            f"workflow job {workflow.id} successful: DB failover successful, Approve the switch successful"
        )
    else:
        assert proc.returncode == 1
        assert (approval.status, workflow.status) == ("failed", "failed")
        assert decision["status"] == "failed" and decision["detail"].endswith("denied")
        assert len(task_jobs) == 1  # the job after the approval never ran
        assert "(nodes: Approve the switch)" in finished(run_dir, "failover")["detail"]


def test_an_interrupted_drill_cancels_its_job_on_the_controller(awx: StandIn, tmp_path: Path) -> None:
    path = scenario(tmp_path, awx.serve(), "  - id: failover\n    awx: {template: Long job}\n")
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "bcdrill.cli", "run", str(path), "--run-dir", str(run_dir)]
    env = {**os.environ, "AWX_TOKEN": TOKEN}
    with subprocess.Popen(
        cmd, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        wait_for(lambda: any(j.status == "running" and j.events for j in awx.engine.jobs.values()))
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 3, stderr
    (job,) = awx.engine.jobs.values()
    assert job.status == "canceled"
    assert finished(run_dir, "failover")["status"] == "interrupted"
    assert not find_processes(env=f"AWX_STANDIN_JOB={job.marker}")
