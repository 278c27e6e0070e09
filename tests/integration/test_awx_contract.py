"""The AWX contract stand-in answers with the keys recorded from AWX's serializers and docs
(`awx_contract/*.json`), endpoint by endpoint, with the recorded HTTP status."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awx_standin import StandIn

CONTRACT = Path(__file__).parent / "awx_contract"
PLAYBOOKS = Path(__file__).parent / "playbooks" / "awx"
TOKEN = "contract-token"


def recorded(name: str) -> dict[str, Any]:
    shape: dict[str, Any] = json.loads((CONTRACT / f"{name}.json").read_text(encoding="utf-8"))
    return shape


def call(url: str, method: str = "GET", body: Any = None, token: str | None = TOKEN) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[int, Any]]]:
    """Every recorded endpoint's answer from the stand-in, after a job and a workflow have run."""
    standin = StandIn(token=TOKEN, workdir=tmp_path_factory.mktemp("standin"), mode="aap")
    template = standin.add_template("DB failover", PLAYBOOKS / "failover.yml", ask={"limit"})
    question = {"variable": "x", "required": True}
    survey = standin.add_template("Survey", PLAYBOOKS / "failover.yml", survey=[question])
    workflow = standin.add_workflow("DR", [("approval", "Approve"), ("job", "DB failover")])
    base = standin.serve()
    api = f"{base}/api/controller/v2/"
    jt, wjt = f"{api}job_templates/{template.id}/", f"{api}workflow_job_templates/{workflow.id}/"
    got: dict[str, tuple[int, Any]] = {
        "api_root_controller": call(f"{base}/api/controller/", token=None),
        "error_401": call(f"{api}jobs/1/", token="wrong"),
        "list_page": call(f"{api}job_templates/?name=DB+failover"),
        "job_template": call(jt),
        "job_template_launch_get": call(f"{jt}launch/"),
        "job_template_launch_missing_vars": call(f"{api}job_templates/{survey.id}/launch/", "POST", {}),
        "job_template_launch_post": call(f"{jt}launch/", "POST", {"limit": "dr"}),
        "workflow_job_template": call(wjt),
        "workflow_job_template_launch_get": call(f"{wjt}launch/"),
        "workflow_job_template_launch_post": call(f"{wjt}launch/", "POST", {}),
    }
    job = got["job_template_launch_post"][1]["job"]
    wait_until(lambda: call(f"{api}jobs/{job}/")[1]["status"] == "successful")
    got["job"] = call(f"{api}jobs/{job}/")
    got["job_cancel_get"] = call(f"{api}jobs/{job}/cancel/")
    events = call(f"{api}jobs/{job}/job_events/?counter__gt=0&order_by=counter&no_truncate=1")
    got["job_event"] = (events[0], events[1]["results"][0])
    workflow_job = got["workflow_job_template_launch_post"][1]["workflow_job"]
    got["workflow_job"] = call(f"{api}workflow_jobs/{workflow_job}/")
    wait_until(lambda: call(f"{api}workflow_jobs/{workflow_job}/workflow_nodes/")[1]["results"][0]["job"])
    nodes = call(f"{api}workflow_jobs/{workflow_job}/workflow_nodes/")
    got["workflow_job_node"] = (nodes[0], nodes[1]["results"][0])
    got["workflow_approval"] = call(f"{api}workflow_approvals/{nodes[1]['results'][0]['job']}/")
    standin.mode = "awx"  # the same stand-in, as plain AWX
    got["api_root"] = call(f"{base}/api/", token=None)
    yield got
    standin.close()


def wait_until(predicate: Any) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.1)


NAMES = sorted(p.stem for p in CONTRACT.glob("*.json"))


@pytest.mark.parametrize("name", NAMES)
def test_the_standin_answers_with_the_recorded_keys(answers: dict[str, tuple[int, Any]], name: str) -> None:
    shape = recorded(name)
    assert shape["source"], f"{name}: a recorded shape names its source"
    status, body = answers[name]
    assert status == shape["status"]
    missing = sorted(set(shape["keys"]) - set(body))
    assert not missing, f"{name}: the stand-in's answer lacks {missing}"


def test_every_recorded_shape_is_checked(answers: dict[str, tuple[int, Any]]) -> None:
    assert set(NAMES) == set(answers)
