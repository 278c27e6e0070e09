"""Finding a template, checking what it asks for, and launching it; workflow approvals.

Before anything starts, `GET …/launch/` tells what the template accepts at launch
(`ask_*_on_launch`, `survey_enabled`) and what it cannot start without
(`variables_needed_to_start`, `passwords_needed_to_start`, `inventory_needed_to_start`). A value the
step gives that the template would ignore, or one it needs that the step does not give, fails the
step before launch with what to change — so a drill never runs a job with settings other than the
scenario's, and a dry run never runs a job outside check mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bcdrill.executors.transport.awx import AwxClient, AwxError, reasons

# what the step gives -> (the launch field that must be true, the prompt's name in the AWX UI)
PROMPTS = {
    "inventory": ("ask_inventory_on_launch", "Inventory"),
    "limit": ("ask_limit_on_launch", "Limit"),
    "job_tags": ("ask_tags_on_launch", "Job Tags"),
    "job_type": ("ask_job_type_on_launch", "Job Type"),
}


@dataclass(frozen=True)
class LaunchSpec:
    """One launch: the template and what the step gives it."""

    template: str  # a name, or an id (all digits)
    workflow: bool = False
    inventory: str | None = None  # a name or an id
    limit: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    job_tags: tuple[str, ...] = ()
    check: bool = False  # job_type: check (a dry run)

    @property
    def endpoint(self) -> str:
        return "workflow_job_templates/" if self.workflow else "job_templates/"

    @property
    def what(self) -> str:
        return "workflow job template" if self.workflow else "job template"


@dataclass(frozen=True)
class Launched:
    job: int
    jobs: str  # the list endpoint of the job: "jobs/" or "workflow_jobs/"
    ignored: Mapping[str, Any]  # fields the controller ignored (`ignored_fields`)
    answer: Mapping[str, Any]


def find_template(client: AwxClient, spec: LaunchSpec) -> dict[str, Any]:
    """The template's record, by id or by name."""
    other = "a job template? remove workflow: true" if spec.workflow else "a workflow? set workflow: true"
    if spec.template.isdigit():
        try:
            found: dict[str, Any] = client.get(f"{spec.endpoint}{spec.template}/")
        except AwxError as exc:
            if exc.status != 404:
                raise
            raise AwxError(
                f"no {spec.what} with id {spec.template} that the token's user can see ({other})"
            ) from None
        return found
    matches = list(client.pages(spec.endpoint, {"name": spec.template}))
    if not matches:
        raise AwxError(
            f"no {spec.what} named '{spec.template}' that the token's user can see — check the name "
            f"(case matters) and the user's roles ({other})"
        )
    if len(matches) > 1:
        ids = ", ".join(str(m.get("id")) for m in matches)
        raise AwxError(f"{len(matches)} {spec.what}s are named '{spec.template}' (ids {ids}) — give its id")
    return matches[0]


def find_inventory(client: AwxClient, name: str) -> int:
    """An inventory's id, from its id or its name."""
    if name.isdigit():
        return int(name)
    matches = list(client.pages("inventories/", {"name": name}))
    if len(matches) != 1:
        count = "no inventory" if not matches else f"{len(matches)} inventories"
        fix = "check the name" if not matches else "give its id"
        raise AwxError(f"{count} named '{name}' that the token's user can see — {fix}")
    return int(matches[0]["id"])


def launch_problems(info: Mapping[str, Any], spec: LaunchSpec) -> list[str]:
    """Why the template cannot be launched as the step says (`info`: its `GET …/launch/`)."""
    given = {
        "inventory": spec.inventory,
        "limit": spec.limit,
        "job_tags": spec.job_tags or None,
        "job_type": "check" if spec.check else None,
    }
    problems = []
    for key, value in given.items():
        ask, shown = PROMPTS[key]
        if value is not None and not info.get(ask, False):
            problems.append(
                f"the {spec.what} does not prompt for {shown} on launch ({ask} is false), so {key} "
                f"would be ignored — tick 'Prompt on launch' for {shown} in the template, or remove {key}"
            )
    if spec.extra_vars and not (info.get("ask_variables_on_launch") or info.get("survey_enabled")):
        problems.append(
            "the template takes no extra variables at launch (no 'Prompt on launch' for Variables, no "
            "survey), so extra_vars would be ignored — enable one of them, or remove extra_vars"
        )
    missing = [v for v in info.get("variables_needed_to_start") or () if v not in spec.extra_vars]
    if missing:
        problems.append(
            f"the template needs {', '.join(missing)} to start (survey questions without a default) — "
            f"add {'them' if len(missing) > 1 else 'it'} under extra_vars"
        )
    passwords = info.get("passwords_needed_to_start") or ()
    if passwords:
        problems.append(
            f"the template's credentials ask for passwords at launch ({', '.join(passwords)}) — bcdrill "
            "never sends credential secrets: store them in the credential in AWX"
        )
    if info.get("inventory_needed_to_start") and spec.inventory is None:
        problems.append("the template has no inventory — give inventory: <name or id>")
    return problems


def launch_body(spec: LaunchSpec, inventory: int | None) -> dict[str, Any]:
    """The POST body of `…/launch/`: only what the step gives."""
    body: dict[str, Any] = {}
    if spec.extra_vars:
        body["extra_vars"] = dict(spec.extra_vars)
    if inventory is not None:
        body["inventory"] = inventory
    if spec.limit is not None:
        body["limit"] = spec.limit
    if spec.job_tags:
        body["job_tags"] = ",".join(spec.job_tags)
    if spec.check:
        body["job_type"] = "check"
    return body


def launch(
    client: AwxClient, template: Mapping[str, Any], spec: LaunchSpec, inventory: int | None
) -> Launched:
    """`POST …/launch/`; a refusal (400: missing variables, passwords, …) is an AwxError saying why."""
    try:
        answer = client.post(f"{spec.endpoint}{template['id']}/launch/", launch_body(spec, inventory))
    except AwxError as exc:
        if exc.status == 400:
            raise AwxError(
                f"the controller refused to launch '{template.get('name')}': {reasons(exc.body)}"
            ) from None
        raise
    if not isinstance(answer, Mapping):
        raise AwxError(f"the controller's answer to the launch is not a job: {str(answer)[:200]}")
    job = answer.get("workflow_job") if spec.workflow else answer.get("job")
    job = job if job is not None else answer.get("id")
    if not isinstance(job, int):
        raise AwxError(f"the controller's answer to the launch names no job: {reasons(answer)[:200]}")
    jobs = "workflow_jobs/" if spec.workflow else "jobs/"
    return Launched(job, jobs, dict(answer.get("ignored_fields") or {}), answer)


# ---- workflow approvals --------------------------------------------------------------------------


def pending_approval(client: AwxClient, workflow_job: int, node: str) -> int | None:
    """The id of the pending workflow approval of node `node` (its identifier or name), if any."""
    for item in client.pages(f"workflow_jobs/{workflow_job}/workflow_nodes/", {"page_size": 200}):
        summary = item.get("summary_fields") or {}
        job = summary.get("job") or {}
        template = summary.get("unified_job_template") or {}
        names = {item.get("identifier"), template.get("name"), job.get("name")}
        if job.get("type") == "workflow_approval" and node in names and job.get("status") == "pending":
            return int(job["id"])
    return None


def decide_approval(client: AwxClient, approval: int, approve: bool) -> None:
    """Approve (or deny) a pending workflow approval."""
    client.post(f"workflow_approvals/{approval}/{'approve' if approve else 'deny'}/")
