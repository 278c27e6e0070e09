"""What a participant may do in the console, checked against the drill's state, then dropped as
a request file for the runner (`run/inbox.py`, `run/requests.py`). Every refusal is a `Refused`
with the HTTP status the API documents: 403 not your team / not a commander, 404 no such
step, 409 not possible now, 422 a bad body."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bcdrill.common.errors import DrillError
from bcdrill.listeners.console.auth import Caller, Refused
from bcdrill.listeners.console.state import DrillState, StepView
from bcdrill.run.inbox import write_ack
from bcdrill.run.lock import runner_alive
from bcdrill.run.requests import EVIDENCE, Actor, safe_file_name, write_request

RESULTS = ("pass", "fail", "not_tested")
MAX_NOTE = 4000
MAX_EVIDENCE_FILES = 20
_SHA256 = re.compile(r"[0-9a-f]{64}")


def parse_body(raw: bytes) -> dict[str, Any]:
    """A JSON object (422 otherwise); an empty body is an empty object."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refused(422, 'the body is not JSON — send a JSON object, e.g. {"result": "pass"}') from None
    if not isinstance(body, dict):
        raise Refused(422, "the body must be a JSON object")
    return body


def _text(body: Mapping[str, Any], key: str, *, required: str | None = None) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Refused(422, required)
        return None
    if not isinstance(value, str):
        raise Refused(422, f"{key!r} must be text")
    if len(value) > MAX_NOTE:
        raise Refused(422, f"{key!r} is longer than {MAX_NOTE} characters")
    return value.strip()


def actor(caller: Caller) -> Actor:
    p = caller.person
    return Actor(p.name, p.role, p.team, caller.client)


def step_of(state: DrillState, step: str) -> StepView:
    view = state.steps.get(step)
    if view is None or (view.rollback and view.status == "pending"):
        raise Refused(404, f"no step {step!r} in this drill")
    return view


def may_act_on(caller: Caller, view: StepView) -> None:
    person = caller.person
    if person.commander:
        return
    if view.team is None:
        raise Refused(403, f"step {view.id} belongs to no team: only a drill commander may act on it")
    if person.team != view.team:
        raise Refused(
            403, f"step {view.id} belongs to team {view.team}, not to yours ({person.team or 'none'})"
        )


def need_commander(caller: Caller) -> None:
    if not caller.person.commander:
        raise Refused(403, "only a drill commander may do this (role 'drill commander' in participants)")


def need_running(state: DrillState) -> None:
    if not state.running:
        raise Refused(409, f"the drill is not running (it ended: {state.status})")


def need_waiting(state: DrillState, view: StepView) -> None:
    need_running(state)
    if view.status != "waiting":
        raise Refused(409, f"step {view.id} is not waiting for a confirmation (it is {view.status})")


def check_ack(state: DrillState, caller: Caller, step: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The acknowledgement to drop, or Refused (403/404/409/422)."""
    view = step_of(state, step)
    may_act_on(caller, view)
    result = body.get("result")
    if result not in RESULTS:
        raise Refused(422, "'result' must be one of pass, fail, not_tested")
    why = {"fail": "a note is required: what failed?", "not_tested": "a note is required: why not tested?"}
    note = _text(body, "note", required=why.get(str(result)))
    evidence = body.get("evidence") or []
    if not isinstance(evidence, list) or len(evidence) > MAX_EVIDENCE_FILES:
        raise Refused(422, f"'evidence' must be a list of at most {MAX_EVIDENCE_FILES} SHA-256 digests")
    if not all(isinstance(e, str) and _SHA256.fullmatch(e) for e in evidence):
        raise Refused(422, "'evidence' holds SHA-256 digests (64 lowercase hex digits) of uploaded files")
    need_waiting(state, view)
    return {"result": result, "note": note, "evidence": evidence}


def drop_ack(run_dir: Path, caller: Caller, step: str, ack: Mapping[str, Any]) -> None:
    missing = [e for e in ack["evidence"] if not _stored(run_dir, step, e)]
    if missing:
        raise Refused(422, f"no uploaded evidence {missing[0][:12]}… for step {step} — upload it first")
    origin = {
        "via": "console",
        "role": caller.person.role,
        "client": caller.client,
        "evidence": ack["evidence"],
    }
    try:
        write_ack(run_dir, step, by=caller.person.name, result=ack["result"], note=ack["note"], origin=origin)
    except DrillError as exc:  # acknowledged a moment ago by someone else, or it just ended
        raise Refused(409, str(exc)) from None


def _stored(run_dir: Path, step: str, digest: str) -> bool:
    folder = Path(run_dir) / EVIDENCE / safe_file_name(step)
    return any(folder.glob(f"{digest[:12]}-*"))


def skip(run_dir: Path, state: DrillState, caller: Caller, step: str, body: Mapping[str, Any]) -> None:
    need_commander(caller)
    view = step_of(state, step)
    reason = _text(body, "reason", required="a reason is required to skip a step")
    need_waiting(state, view)
    origin = {"via": "console", "role": caller.person.role, "client": caller.client}
    try:
        write_ack(run_dir, step, by=caller.person.name, result="skip", note=reason, origin=origin)
    except DrillError as exc:
        raise Refused(409, str(exc)) from None


def hold(run_dir: Path, state: DrillState, caller: Caller, action: str, body: Mapping[str, Any]) -> None:
    need_commander(caller)
    reason = _text(body, "reason", required=f"a reason is required to {action} the drill")
    need_running(state)
    held = state.held_by is not None
    if held == (action == "hold"):
        raise Refused(409, "the drill is already held" if held else "the drill is not held")
    write_request(run_dir, action, actor(caller), reason=reason)


def decide(
    run_dir: Path, state: DrillState, caller: Caller, action: str, step: str, body: Mapping[str, Any]
) -> None:
    """retry (a failed step) / mark_done (a step in flight when the runner stopped): for `drill resume`."""
    need_commander(caller)
    view = step_of(state, step)
    reason = _text(body, "reason", required=f"a reason is required to {action.replace('_', ' ')} a step")
    if view.rollback:
        raise Refused(409, f"step {step} is a rollback step: it is not retried or marked done")
    if runner_alive(run_dir):
        raise Refused(
            409, "a runner is running this drill: retry and mark-done apply to a stopped run (drill resume)"
        )
    if state.status == "complete":
        raise Refused(409, "the drill is complete: there is nothing to resume")
    if action == "retry" and view.status not in ("failed", "timeout"):
        raise Refused(409, f"step {step} did not fail (it is {view.status}): only a failed step is retried")
    if action == "mark_done" and view.status not in ("running", "waiting", "interrupted"):
        raise Refused(409, f"step {step} was not in flight when the run stopped (it is {view.status})")
    write_request(run_dir, action, actor(caller), step=step, reason=reason)


def check_upload(state: DrillState, caller: Caller, step: str) -> None:
    """Evidence for `step` may be uploaded by its team (or a commander) while the drill runs."""
    may_act_on(caller, step_of(state, step))
    need_running(state)
