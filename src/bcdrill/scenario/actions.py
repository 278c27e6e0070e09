"""Building a step's action (run, ssh, ansible, awx, check, manual, wait) from validated fields."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bcdrill.scenario import fields as F
from bcdrill.scenario.model import (
    Action,
    AnsibleAction,
    AwxAction,
    AwxApproval,
    CheckAction,
    CommandProbe,
    HttpProbe,
    ManualAction,
    Pos,
    Probe,
    PythonProbe,
    RunAction,
    SmtpProbe,
    SshAction,
    SshProbe,
    TcpProbe,
    WaitAction,
)
from bcdrill.scenario.validator import INVALID, Ctx, label
from bcdrill.scenario.yamlpos import YMap

_PY_SPEC = re.compile(r"(?P<path>.+\.py):(?P<func>[A-Za-z_][A-Za-z0-9_]*)")


def _valid(values: dict[str, Any]) -> bool:
    return all(v is not INVALID for v in values.values())


def _run(ctx: Ctx, value: Any, pos: Pos, where: str) -> Action | None:
    if not isinstance(value, YMap):
        return RunAction(command=value) if _no_nul(ctx, value, pos, where) else None
    f = ctx.fields(value, F.RUN, where)
    env: dict[str, str] = {}
    for key, val in (f["env"] if isinstance(f["env"], dict) else {}).items():
        if isinstance(val, (dict, list)):
            ctx.add(value.pos, f"{where}.env.{key}: expected a string, got a {type(val).__name__}")
            return None
        if not key or "=" in key or "\0" in key:
            ctx.add(value.pos, f"{where}.env: {key!r} cannot name a variable — use letters, digits and _")
            return None
        env[key] = "" if val is None else str(val)
    cwd = f["cwd"]
    if isinstance(cwd, str) and not Path(cwd).is_absolute():
        cwd = str(ctx.base_dir / cwd)
    if not _valid(f) or not _no_nul(ctx, (f["command"], *env.values()), value.pos, where):
        return None
    return RunAction(command=f["command"], cwd=cwd, env=env)


def _no_nul(ctx: Ctx, value: Any, pos: Pos, where: str) -> bool:
    """A command or environment value with a NUL character cannot be given to a process."""

    def texts(v: Any) -> list[str]:
        if isinstance(v, tuple):
            return [t for item in v for t in texts(item)]
        return [v] if isinstance(v, str) else []

    if any("\0" in t for t in texts(value)):
        ctx.add(pos, f"{where}: a NUL character (\\0) cannot be passed to a command — remove it")
        return False
    return True


def _ssh(ctx: Ctx, value: Any, pos: Pos, where: str) -> Action | None:
    f = ctx.fields(value, F.SSH, where)
    return SshAction(**f) if _valid(f) else None


def _ansible(ctx: Ctx, value: Any, pos: Pos, where: str) -> Action | None:
    f = ctx.fields(value, F.ANSIBLE, where)
    if not _valid(f):
        return None
    return AnsibleAction(
        playbook=f["playbook"],
        limit=f["limit"],
        tags=f["tags"] or (),
        extravars=f["extravars"] or {},
        inventory=f["inventory"],
    )


def _awx(ctx: Ctx, value: Any, pos: Pos, where: str) -> Action | None:
    f = ctx.fields(value, F.AWX, where)
    if isinstance(f["template"], str) and not f["template"].strip():
        ctx.add(value.val_pos["template"], f"{where}.template: empty — give the template's name or id")
        return None
    if not _valid(f) or f["template"] is None:
        return None
    return AwxAction(
        template=f["template"].strip(),
        inventory=f["inventory"],
        limit=f["limit"],
        extra_vars=f["extra_vars"] or {},
        job_tags=f["job_tags"] or (),
        workflow=f["workflow"],
    )


def _manual(ctx: Ctx, value: Any, pos: Pos, where: str) -> Action | None:
    f = ctx.fields(value, F.MANUAL, where)
    approval = None
    if isinstance(f["awx_approve"], YMap):
        a = ctx.fields(f["awx_approve"], F.AWX_APPROVE, label(where, "awx_approve"))
        if not _valid(a) or a["step"] is None or a["node"] is None:
            return None
        approval = AwxApproval(step=a["step"], node=a["node"])
    return ManualAction(prompt=f["prompt"], awx_approve=approval) if _valid(f) else None


def parse_time(text: object) -> dt.datetime | None:
    """An ISO-8601 time with a UTC offset (or Z); None if invalid or without an offset."""
    if isinstance(text, dt.datetime):  # YAML read it as a timestamp already
        return text if text.tzinfo is not None else None
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _wait(ctx: Ctx, value: Any, pos: Pos, where: str) -> Action | None:
    if not isinstance(value, YMap):
        return WaitAction(seconds=value)
    f = ctx.fields(value, F.WAIT, where)
    if not _valid(f):
        return None
    if f.get("until") is None:  # reported as a missing required key
        return None
    when = parse_time(f["until"])
    if when is None:
        msg = f"{where}.until: expected an ISO-8601 time with a UTC offset, got {f['until']!r}"
        ctx.add(value.val_pos["until"], msg + " — e.g. 2026-05-01T09:00:00+08:00")
        return None
    return WaitAction(until=when)


def _check(ctx: Ctx, value: Any, pos: Pos, where: str) -> Action | None:
    f = ctx.fields(value, F.CHECK, where)
    kind = ctx.exactly_one(value, F.PROBES, "probe", where, "use one probe per step")
    if kind is None:
        return None
    if value.get("args") is not None and kind != "python":
        ctx.add(value.key_pos["args"], f"{where}.args: only a python check takes args — remove it")
    if f[kind] is INVALID:
        return None
    probe = _PROBES[kind](ctx, f, value, label(where, kind))
    return CheckAction(probe=probe) if probe is not None else None


def _regex(ctx: Ctx, f: dict[str, Any], m: YMap, where: str) -> bool:
    if isinstance(f.get("matches"), str):
        try:
            re.compile(f["matches"])
        except re.error as exc:
            ctx.add(m.val_pos["matches"], f"{where}.matches: invalid regular expression: {exc}")
            return False
    return True


def _http(ctx: Ctx, f: dict[str, Any], m: YMap, where: str) -> Probe | None:
    p = ctx.fields(f["http"], F.HTTP, where)
    return HttpProbe(**{**p, "json": p["json"] or {}}) if _valid(p) else None


def _tcp(ctx: Ctx, f: dict[str, Any], m: YMap, where: str) -> Probe | None:
    p = ctx.fields(f["tcp"], F.TCP, where)
    return TcpProbe(**p) if _valid(p) else None


def _smtp(ctx: Ctx, f: dict[str, Any], m: YMap, where: str) -> Probe | None:
    p = ctx.fields(f["smtp"], F.SMTP, where)
    return SmtpProbe(**p) if _valid(p) else None


def _command(ctx: Ctx, f: dict[str, Any], m: YMap, where: str) -> Probe | None:
    p = ctx.fields(f["command"], F.COMMAND_PROBE, where)
    return CommandProbe(**p) if _regex(ctx, p, f["command"], where) and _valid(p) else None


def _ssh_probe(ctx: Ctx, f: dict[str, Any], m: YMap, where: str) -> Probe | None:
    p = ctx.fields(f["ssh"], F.SSH_PROBE, where)
    return SshProbe(**p) if _regex(ctx, p, f["ssh"], where) and _valid(p) else None


def _python(ctx: Ctx, f: dict[str, Any], m: YMap, where: str) -> Probe | None:
    spec, pos = f["python"], m.val_pos["python"]
    match = _PY_SPEC.fullmatch(spec)
    if match is None:
        ctx.add(pos, f"{where}: expected 'path/to/module.py:function', got {spec!r}")
        return None
    path = ctx.file_path(match["path"], pos, where)
    args = f["args"] if f["args"] is not INVALID else {}
    return PythonProbe(path=path, function=match["func"], args=args or {})


_Builder = Callable[[Ctx, Any, Pos, str], "Action | None"]
_ProbeBuilder = Callable[[Ctx, dict[str, Any], YMap, str], "Probe | None"]

ACTIONS: dict[str, _Builder] = {
    "run": _run,
    "ssh": _ssh,
    "ansible": _ansible,
    "awx": _awx,
    "check": _check,
    "manual": _manual,
    "wait": _wait,
}
_PROBES: dict[str, _ProbeBuilder] = {
    "http": _http,
    "tcp": _tcp,
    "smtp": _smtp,
    "command": _command,
    "ssh": _ssh_probe,
    "python": _python,
}


def build_action(ctx: Ctx, kind: str, value: Any, pos: Pos, where: str) -> Action | None:
    """The action of one step, or None when it is invalid (problems are recorded)."""
    if value is INVALID:
        return None
    return ACTIONS[kind](ctx, value, pos, label(where, kind))
