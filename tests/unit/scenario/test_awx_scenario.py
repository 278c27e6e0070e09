"""`awx` steps and the top-level `awx:` controller in scenarios: what the loader builds and refuses."""

# ruff: noqa: E501 - expected messages are compared verbatim
from __future__ import annotations

from pathlib import Path

import pytest

from bcdrill.common.errors import ScenarioError
from bcdrill.scenario.loader import load_scenario
from bcdrill.scenario.model import AwxAction, AwxApproval, ManualAction
from bcdrill.scenario.schema import json_schema

FIXTURES = Path(__file__).parent / "fixtures" / "awx"


def problems_of(name: str, **kw: object) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(name, **kw)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_problems_are_reported_where_they_are_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    monkeypatch.delenv("AWX_TOKEN", raising=False)
    assert problems_of("problems.yaml") == [
        "problems.yaml:5:12: awx.url: 'aap.example.com' is not an http(s) URL — e.g. https://aap.example.com",
        "problems.yaml:5:42: awx.token_var: no value for 'AWX_TOKEN' — pass --var AWX_TOKEN=TOKEN or set the environment variable AWX_TOKEN",
        "problems.yaml:5:53: unknown key 'verify_tl' in awx — did you mean 'verify_tls'?",
        "problems.yaml:5:76: awx.api: 'gateway' is not valid — expected one of: auto, awx, aap",
        "problems.yaml:8:34: unknown key 'job_tag' in steps[failover].awx — did you mean 'job_tags'?",
        "problems.yaml:13:47: steps[approve-typo].manual.awx_approve.step: 'wf2' is not an awx step — did you mean 'wf'?",
        "problems.yaml:16:47: 'failover' launches a job template, not a workflow — set workflow: true on it",
        "problems.yaml:19:40: missing required key 'node' in steps[approve-late].manual.awx_approve — add node: <approval node name>",
        "problems.yaml:19:51: unknown key 'nod' in steps[approve-late].manual.awx_approve — did you mean 'node'?",
    ]


def test_an_awx_step_needs_a_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    assert problems_of("no_controller.yaml") == [
        "no_controller.yaml:7:5: steps[failover].awx: no controller is configured — add a top-level awx: {url: https://<controller>, token_var: AWX_TOKEN}",
    ]


def test_an_approval_step_must_not_wait_for_its_workflow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = (FIXTURES / "valid.yaml").read_text(encoding="utf-8").replace("needs: []", "needs: [wf]")
    (tmp_path / "late.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert problems_of("late.yaml", cli_vars={"controller_cred": "t0k"}) == [
        "late.yaml:12:53: steps[approve] waits for 'wf', which waits for this approval — give approve needs: that do not include wf",
    ]


def test_the_token_comes_from_a_var_or_the_environment_and_is_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("controller_cred", "from-the-environment")
    scn = load_scenario(FIXTURES / "valid.yaml")
    assert scn.awx is not None and scn.awx.token == "from-the-environment"
    scn = load_scenario(FIXTURES / "valid.yaml", cli_vars={"controller_cred": "from-a-var"})
    assert scn.awx is not None
    assert (scn.awx.url, scn.awx.api, scn.awx.pending_timeout, scn.awx.verify_tls) == (
        "https://aap.example.com",
        "aap",
        120.0,
        True,
    )
    assert scn.awx.token == "from-a-var" and "from-a-var" in scn.secrets
    assert "hunter2" in scn.secrets  # a secret-named extra var
    assert "from-a-var" not in repr(scn.awx)
    assert not scn.warnings  # the token's --var counts as used


def test_the_actions_are_built_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    scn = load_scenario(FIXTURES / "valid.yaml", cli_vars={"controller_cred": "t"})
    wf, approve, job = scn.steps
    assert wf.action == AwxAction(
        template="DR failover", workflow=True, extra_vars={"site": "dr-east", "db_password": "hunter2"}
    )
    assert job.action == AwxAction(template="42", limit="dr", job_tags=("db", "dns"), inventory="DR hosts")
    assert approve.action == ManualAction(
        prompt="DB ready?", awx_approve=AwxApproval(step="wf", node="Approve the switch")
    )


def test_the_json_schema_knows_awx() -> None:
    schema = json_schema()
    assert {"required": ["awx"]} in schema["$defs"]["step"]["oneOf"]
    assert set(schema["$defs"]["awx"]["properties"]) == {
        "template",
        "workflow",
        "inventory",
        "limit",
        "extra_vars",
        "job_tags",
    }
    assert schema["properties"]["awx"] == {
        "$ref": "#/$defs/awx_connection",
        "description": "The AWX / Automation Platform controller of the awx steps.",
    }
    assert schema["$defs"]["awx_connection"]["required"] == ["url", "token_var"]
