"""The views of the AWX contract stand-in (`awx_standin.py`): AWX's response shapes, by endpoint.

The keys follow AWX's serializers (awx/api/serializers.py: BaseSerializer, UnifiedJobSerializer,
JobTemplateSerializer, JobLaunchSerializer, JobSerializer, JobEventSerializer,
WorkflowJobSerializer, WorkflowJobNodeSerializer, WorkflowApprovalSerializer) and views
(awx/api/views/__init__.py: JobTemplateLaunch.post, GenericCancelView, WorkflowApprovalApprove);
`awx_contract/*.json` records them with their sources and `test_awx_contract.py` holds the two together.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from awx_standin_engine import FINAL, Job, JobTemplate, Node, WorkflowTemplate, now_iso

if TYPE_CHECKING:
    from awx_standin import StandIn

MAX_PAGE_SIZE = 200  # AWX's settings.MAX_PAGE_SIZE
STDOUT_MAX = 1024  # AWX's EVENT_STDOUT_MAX_BYTES_DISPLAY: event stdout is cut unless ?no_truncate
ASKS = {  # JobLaunchSerializer's ask_* fields -> the stand-in template's `ask` names
    "ask_variables_on_launch": "variables",
    "ask_limit_on_launch": "limit",
    "ask_tags_on_launch": "tags",
    "ask_job_type_on_launch": "job_type",
    "ask_inventory_on_launch": "inventory",
    "ask_scm_branch_on_launch": "scm_branch",
    "ask_diff_mode_on_launch": "diff_mode",
    "ask_skip_tags_on_launch": "skip_tags",
    "ask_verbosity_on_launch": "verbosity",
    "ask_credential_on_launch": "credential",
    "ask_execution_environment_on_launch": "execution_environment",
    "ask_labels_on_launch": "labels",
    "ask_forks_on_launch": "forks",
    "ask_job_slice_count_on_launch": "job_slice_count",
    "ask_timeout_on_launch": "timeout",
    "ask_instance_groups_on_launch": "instance_groups",
}
LAUNCH_FIELDS = {"extra_vars": "variables", "limit": "limit", "job_tags": "tags", "job_type": "job_type"}
LAUNCH_FIELDS["inventory"] = "inventory"


class BadBody(str):
    """A request body that is not JSON."""


def api_root(state: StandIn, path: str) -> tuple[int, Any] | None:
    """The unauthenticated roots: AWX's ApiRootView; in AAP mode a gateway root and /api/controller/."""
    if path == "/api/":
        if state.mode == "aap":
            gateway = {"gateway": "/api/gateway/", "controller": "/api/controller/", "eda": "/api/eda/"}
            return 200, {"description": "Ansible Automation Platform gateway (stand-in)", "apis": gateway}
        return 200, _root("/api/v2/")
    if path == "/api/controller/":
        return (200, _root("/api/controller/v2/")) if state.mode == "aap" else (404, {"detail": "Not found."})
    return None


def _root(version: str) -> dict[str, Any]:
    return {
        "description": "AWX REST API",
        "current_version": version,
        "available_versions": {"v2": version},
        "oauth2": "/api/o/",
        "custom_logo": "",
        "custom_login_info": "",
        "login_redirect_override": "",
    }


def _base(state: StandIn, kind: str, oid: int, name: str, path: str) -> dict[str, Any]:
    """BaseSerializer's fields."""
    return {
        "id": oid,
        "type": kind,
        "url": f"{state.root}{path}{oid}/",
        "related": {},
        "summary_fields": {},
        "created": now_iso(),
        "modified": now_iso(),
        "name": name,
        "description": "",
    }


def page(state: StandIn, path: str, items: list[Any], query: dict[str, list[str]]) -> dict[str, Any]:
    """AWX's Pagination: count, next, previous, results (`page`, `page_size` up to 200)."""
    size = min(int(query.get("page_size", ["25"])[0]), MAX_PAGE_SIZE)
    number = int(query.get("page", ["1"])[0])
    pages = max(1, math.ceil(len(items) / size))
    chosen = items[(number - 1) * size : number * size]

    def link(n: int) -> str:
        kept = {k: v[0] for k, v in query.items() if k != "page"}
        return f"{state.root}{path}?" + "&".join(f"{k}={v}" for k, v in {**kept, "page": n}.items())

    return {
        "count": len(items),
        "next": link(number + 1) if number < pages else None,
        "previous": link(number - 1) if number > 1 else None,
        "results": chosen,
    }


def _named(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
    name = query.get("name", [None])[0]
    return [i for i in items if name is None or i.name == name]


# ---- job templates -------------------------------------------------------------------------------


def _job_template(state: StandIn, t: JobTemplate) -> dict[str, Any]:
    data = _base(state, "job_template", t.id, t.name, "job_templates/")
    data["related"] = {"launch": f"{state.root}job_templates/{t.id}/launch/"}
    data.update(
        job_type="run", inventory=t.inventory, project=1, playbook=_playbook_name(t.playbook), limit="",
        extra_vars="", job_tags="", survey_enabled=bool(t.survey), status="successful",
        last_job_run=None, last_job_failed=False, next_job_run=None, execution_environment=None,
        forks=0, verbosity=0, timeout=0, scm_branch="", skip_tags="", organization=1, force_handlers=False,
        start_at_task="", use_fact_cache=False, host_config_key="", become_enabled=False, diff_mode=False,
        allow_simultaneous=False, custom_virtualenv=None, job_slice_count=1, webhook_service="",
        webhook_credential=None, prevent_instance_group_fallback=False,
    )  # fmt: skip
    data.update({ask: name in t.ask for ask, name in ASKS.items()})
    return data


def _playbook_name(path: str) -> str:  # AWX keeps the playbook name relative to the project
    return path.rsplit("/", 1)[-1]


def job_templates(state: StandIn, method: str, query: Any, body: Any) -> tuple[int, Any]:
    items = [_job_template(state, t) for t in _named(list(state.job_templates.values()), query)]
    return 200, page(state, "job_templates/", items, query)


def job_template(state: StandIn, method: str, query: Any, body: Any, tid: str) -> tuple[int, Any]:
    t = state.job_templates.get(int(tid))
    return (200, _job_template(state, t)) if t else (404, {"detail": "Not found."})


def _needed(survey: list[dict[str, Any]]) -> list[str]:
    return [q["variable"] for q in survey if q.get("required") and "default" not in q]


def _launch_info(t: JobTemplate | WorkflowTemplate, survey: list[dict[str, Any]]) -> dict[str, Any]:
    """JobLaunchSerializer's read fields."""
    info: dict[str, Any] = {ask: name in t.ask for ask, name in ASKS.items()}
    info.update(
        can_start_without_user_input=not _needed(survey),
        passwords_needed_to_start=[],
        variables_needed_to_start=_needed(survey),
        credential_needed_to_start=False,
        inventory_needed_to_start=isinstance(t, JobTemplate) and t.inventory is None,
        survey_enabled=bool(survey),
        defaults={"extra_vars": "", "limit": "", "job_tags": "", "job_type": "run"},
    )
    key = "job_template_data" if isinstance(t, JobTemplate) else "workflow_job_template_data"
    info[key] = {"name": t.name, "id": t.id, "description": ""}
    return info


def _accept(t: JobTemplate | WorkflowTemplate, survey: list[dict[str, Any]], body: Any) -> tuple[dict, dict]:
    """(accepted, ignored) launch fields, as `_accept_or_ignore_job_kwargs` sorts them."""
    accepted: dict[str, Any] = {}
    ignored: dict[str, Any] = {}
    for key, value in (body or {}).items():
        asked = LAUNCH_FIELDS.get(key)
        allowed = asked in t.ask or (key == "extra_vars" and bool(survey))
        (accepted if allowed else ignored)[key] = value
    return accepted, ignored


def job_template_launch(state: StandIn, method: str, query: Any, body: Any, tid: str) -> tuple[int, Any]:
    t = state.job_templates.get(int(tid))
    if t is None:
        return 404, {"detail": "Not found."}
    if method == "GET":
        return 200, _launch_info(t, t.survey)
    accepted, ignored = _accept(t, t.survey, body)
    extra = dict(accepted.get("extra_vars") or {})
    missing = [f"'{v}' value missing" for v in _needed(t.survey) if v not in extra]
    if missing:
        return 400, {"variables_needed_to_start": missing}
    job = state.engine.start_job(
        t,
        job_type=accepted.get("job_type", "run"),
        limit=accepted.get("limit", ""),
        job_tags=accepted.get("job_tags", ""),
        extra_vars=extra,
        inventory=accepted.get("inventory", t.inventory),
    )
    return 201, {"job": job.id, "ignored_fields": ignored, **_job(state, job)}


# ---- jobs ----------------------------------------------------------------------------------------


def _unified(state: StandIn, job: Job, path: str) -> dict[str, Any]:
    """UnifiedJobSerializer's fields."""
    data = _base(state, job.kind, job.id, job.name, path)
    data.update(
        unified_job_template=job.template.id if job.template else None, launch_type="manual",
        status=job.status, execution_environment=None, failed=job.status in ("failed", "error"),
        started=job.started, finished=job.finished, canceled_on=job.canceled_on, elapsed=job.elapsed,
        job_args="", job_cwd="", job_env={}, job_explanation=job.job_explanation, execution_node="",
        controller_node="", result_traceback="", event_processing_finished=job.event_processing_finished,
        launched_by={}, work_unit_id=None,
    )  # fmt: skip
    data["related"] = {"cancel": f"{state.root}{path}{job.id}/cancel/"}
    return data


def _job(state: StandIn, job: Job) -> dict[str, Any]:
    """JobSerializer's fields."""
    data = _unified(state, job, "jobs/")
    data["related"]["job_events"] = f"{state.root}jobs/{job.id}/job_events/"
    data["related"]["stdout"] = f"{state.root}jobs/{job.id}/stdout/"
    playbook = _playbook_name(job.template.playbook) if job.template else ""
    data.update(
        job_type=job.job_type, inventory=job.inventory, project=1, playbook=playbook, scm_branch="",
        forks=0, limit=job.limit, verbosity=0,
        extra_vars=str(job.extra_vars), job_tags=job.job_tags, force_handlers=False, skip_tags="",
        start_at_task="", timeout=0, use_fact_cache=False, organization=1,
        job_template=job.template.id if job.template else None, passwords_needed_to_start=[],
        allow_simultaneous=False, artifacts={}, scm_revision="", instance_group=None, diff_mode=False,
        job_slice_number=0, job_slice_count=1, webhook_service="", webhook_credential=None, webhook_guid="",
    )  # fmt: skip
    return data


def _get_job(state: StandIn, jid: str, kind: str) -> Job | None:
    job = state.engine.jobs.get(int(jid))
    return job if job is not None and job.kind == kind else None


def job(state: StandIn, method: str, query: Any, body: Any, jid: str) -> tuple[int, Any]:
    found = _get_job(state, jid, "job")
    return (200, _job(state, found)) if found else (404, {"detail": "Not found."})


def _event(state: StandIn, job: Job, event: dict[str, Any], truncate: bool) -> dict[str, Any]:
    """JobEventSerializer's fields."""
    data = event["event_data"]
    stdout = event["stdout"]
    if truncate and not event["event"].startswith("playbook_on") and len(stdout) > STDOUT_MAX:
        stdout = stdout[:STDOUT_MAX]
    out = _base(state, "job_event", event["id"], "", "job_events/")
    del out["name"], out["description"]
    out.update(
        created=event["created"], job=job.id, event=event["event"], counter=event["counter"],
        event_display=event["event"], event_data=data, event_level=0,
        failed=event["event"] in ("runner_on_failed", "runner_on_unreachable"),
        changed=bool((data.get("res") or {}).get("changed")) if isinstance(data.get("res"), dict) else False,
        uuid=event["uuid"], parent_uuid=event["parent_uuid"], host=None, host_name=data.get("host", ""),
        playbook=data.get("playbook", ""), play=data.get("play", ""), task=data.get("task", ""),
        role=data.get("role", ""), stdout=stdout, start_line=event["start_line"],
        end_line=event["end_line"], verbosity=event["verbosity"],
    )  # fmt: skip
    return out


def job_events(state: StandIn, method: str, query: Any, body: Any, jid: str) -> tuple[int, Any]:
    found = _get_job(state, jid, "job")
    if found is None:
        return 404, {"detail": "Not found."}
    after = int(query.get("counter__gt", ["0"])[0])
    with state.engine.lock:
        events = [e for e in found.events if e["counter"] > after]
    if query.get("order_by", [""])[0] == "counter":
        events.sort(key=lambda e: e["counter"])
    truncate = not query.get("no_truncate")
    items = [_event(state, found, e, truncate) for e in events]
    return 200, page(state, f"jobs/{jid}/job_events/", items, query)


def stdout(state: StandIn, method: str, query: Any, body: Any, jid: str) -> tuple[int, Any]:
    """UnifiedJobStdout with ?format=txt: the job's whole output as plain text."""
    found = _get_job(state, jid, "job")
    if found is None:
        return 404, {"detail": "Not found."}
    with state.engine.lock:
        events = sorted(found.events, key=lambda e: e["counter"])
    return 200, "".join(e["stdout"] + "\n" for e in events if e["stdout"])


def cancel(state: StandIn, method: str, query: Any, body: Any, kind: str, jid: str) -> tuple[int, Any]:
    """GenericCancelView: GET {can_cancel}; POST 202, or 405 when it cannot be cancelled."""
    found = _get_job(state, jid, "job" if kind == "jobs" else "workflow_job")
    if found is None:
        return 404, {"detail": "Not found."}
    if method == "GET":
        return 200, {"can_cancel": found.status not in FINAL}
    if not state.engine.cancel(found):
        return 405, {"detail": 'Method "POST" not allowed.'}
    return 202, None


def inventories(state: StandIn, method: str, query: Any, body: Any) -> tuple[int, Any]:
    name = query.get("name", [None])[0]
    items = [
        {
            **_base(state, "inventory", iid, n, "inventories/"),
            "kind": "",
            "host_filter": None,
            "variables": "",
        }
        for iid, n in state.inventories.items()
        if name is None or n == name
    ]
    return 200, page(state, "inventories/", items, query)


# ---- workflows -----------------------------------------------------------------------------------


def _workflow_template(state: StandIn, w: WorkflowTemplate) -> dict[str, Any]:
    data = _base(state, "workflow_job_template", w.id, w.name, "workflow_job_templates/")
    data.update(
        last_job_run=None, last_job_failed=False, next_job_run=None, status="never updated",
        extra_vars="", organization=1, survey_enabled=False, allow_simultaneous=False,
        inventory=None, limit=None, scm_branch=None, webhook_service="", webhook_credential=None,
        skip_tags=None, job_tags=None,
    )  # fmt: skip
    data.update({ask: name in w.ask for ask, name in ASKS.items() if ask in _WORKFLOW_ASKS})
    return data


_WORKFLOW_ASKS = (
    "ask_labels_on_launch",
    "ask_inventory_on_launch",
    "ask_limit_on_launch",
    "ask_scm_branch_on_launch",
    "ask_variables_on_launch",
    "ask_skip_tags_on_launch",
    "ask_tags_on_launch",
)


def workflow_templates(state: StandIn, method: str, query: Any, body: Any) -> tuple[int, Any]:
    items = [_workflow_template(state, w) for w in _named(list(state.workflows.values()), query)]
    return 200, page(state, "workflow_job_templates/", items, query)


def workflow_template(state: StandIn, method: str, query: Any, body: Any, wid: str) -> tuple[int, Any]:
    w = state.workflows.get(int(wid))
    return (200, _workflow_template(state, w)) if w else (404, {"detail": "Not found."})


def workflow_launch(state: StandIn, method: str, query: Any, body: Any, wid: str) -> tuple[int, Any]:
    w = state.workflows.get(int(wid))
    if w is None:
        return 404, {"detail": "Not found."}
    if method == "GET":
        info = _launch_info(w, [])
        info.update(node_templates_missing=[], node_prompts_rejected=[])
        return 200, {k: v for k, v in info.items() if not k.startswith("ask_") or k in _WORKFLOW_ASKS}
    accepted, ignored = _accept(w, [], body)
    job = state.engine.start_workflow(w, state.job_templates, extra_vars=accepted.get("extra_vars"))
    return 201, {"workflow_job": job.id, "ignored_fields": ignored, **_workflow_job(state, job)}


def _workflow_job(state: StandIn, job: Job) -> dict[str, Any]:
    """WorkflowJobSerializer's fields."""
    data = _unified(state, job, "workflow_jobs/")
    for gone in ("execution_environment", "execution_node", "event_processing_finished", "controller_node"):
        data.pop(gone)
    data["related"]["workflow_nodes"] = f"{state.root}workflow_jobs/{job.id}/workflow_nodes/"
    data.update(
        workflow_job_template=job.workflow.id if job.workflow else None, extra_vars=str(job.extra_vars),
        allow_simultaneous=False, job_template=None, is_sliced_job=False, inventory=None, limit=None,
        scm_branch=None, webhook_service="", webhook_credential=None, webhook_guid="", skip_tags=None,
        job_tags=None,
    )  # fmt: skip
    return data


def workflow_job(state: StandIn, method: str, query: Any, body: Any, jid: str) -> tuple[int, Any]:
    found = _get_job(state, jid, "workflow_job")
    return (200, _workflow_job(state, found)) if found else (404, {"detail": "Not found."})


def _node(state: StandIn, wf: Job, node: Node) -> dict[str, Any]:
    """WorkflowJobNodeSerializer's fields (summary_fields.job and .unified_job_template)."""
    child = state.engine.jobs.get(node.job) if node.job is not None else None
    summary: dict[str, Any] = {
        "unified_job_template": {
            "id": node.template or node.id,
            "name": node.name,
            "description": "",
            "unified_job_type": "job" if node.kind == "job" else "workflow_approval",
        }
    }
    if child is not None:
        summary["job"] = {
            "id": child.id, "name": child.name, "description": "", "status": child.status,
            "failed": child.status in ("failed", "error"), "elapsed": child.elapsed, "type": child.kind,
            "canceled_on": child.canceled_on,
        }  # fmt: skip
        if child.kind == "workflow_approval":
            summary["job"]["timed_out"] = False
    return {
        "id": node.id, "type": "workflow_job_node", "url": f"{state.root}workflow_job_nodes/{node.id}/",
        "related": {}, "summary_fields": summary, "created": wf.created, "modified": now_iso(),
        "extra_data": {}, "inventory": None, "scm_branch": None, "job_type": None, "job_tags": None,
        "skip_tags": None, "limit": None, "diff_mode": None, "verbosity": None,
        "execution_environment": None, "forks": None, "job_slice_count": None, "timeout": None,
        "job": node.job, "workflow_job": wf.id, "unified_job_template": node.template or node.id,
        "success_nodes": [], "failure_nodes": [], "always_nodes": [], "all_parents_must_converge": False,
        "do_not_run": node.do_not_run, "identifier": node.identifier,
    }  # fmt: skip


def workflow_nodes(state: StandIn, method: str, query: Any, body: Any, jid: str) -> tuple[int, Any]:
    found = _get_job(state, jid, "workflow_job")
    if found is None:
        return 404, {"detail": "Not found."}
    items = [_node(state, found, n) for n in found.nodes]
    return 200, page(state, f"workflow_jobs/{jid}/workflow_nodes/", items, query)


def approval(state: StandIn, method: str, query: Any, body: Any, aid: str) -> tuple[int, Any]:
    """WorkflowApprovalSerializer's fields."""
    found = _get_job(state, aid, "workflow_approval")
    if found is None:
        return 404, {"detail": "Not found."}
    data = _unified(state, found, "workflow_approvals/")
    for gone in ("controller_node", "execution_node"):
        data.pop(gone)
    data.update(can_approve_or_deny=found.status == "pending", approval_expiration=None, timed_out=False)
    return 200, data


def decide(state: StandIn, method: str, query: Any, body: Any, aid: str, verb: str) -> tuple[int, Any]:
    """WorkflowApprovalApprove/Deny: 204, or 400 when it is not pending any more."""
    found = _get_job(state, aid, "workflow_approval")
    if found is None:
        return 404, {"detail": "Not found."}
    if not state.engine.decide(found, verb == "approve"):
        return 400, {"error": "This workflow step has already been approved or denied."}
    return 204, None
