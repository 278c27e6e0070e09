"""Checks across the whole scenario: ids, references, cycles, declares, recovers, hosts."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bcdrill.common import dag
from bcdrill.scenario.model import AwxAction, CheckAction, ManualAction, Pos, SshAction, SshProbe
from bcdrill.scenario.steps import StepInfo
from bcdrill.scenario.validator import Ctx, did_you_mean
from bcdrill.scenario.yamlpos import YList, YMap


def _item_pos(m: YMap, key: str, i: int) -> Pos:
    value = m.get(key)
    return value.item_pos[i] if isinstance(value, YList) and i < len(value.item_pos) else m.val_pos[key]


def _unknown(kind: str, name: str, known: Collection[str], section: str, key: str = "") -> str:
    hint = did_you_mean(name, known) or f" — define it under {section}:"
    place = f" in {key}" if key else ""
    return f"unknown {kind} '{name}'{place}{hint}"


def check_ids(ctx: Ctx, infos: Sequence[StepInfo]) -> None:
    """Step ids are unique across steps and rollback; the second one is reported."""
    first: dict[str, Pos] = {}
    for info in infos:
        sid = info.step.id
        if not sid:
            continue
        if sid in first:
            msg = f"duplicate step id '{sid}' (first defined at line {first[sid].line})"
            ctx.add(info.m.val_pos["id"], msg + " — step ids must be unique across steps and rollback")
        else:
            first[sid] = info.m.val_pos["id"]


def check_needs(ctx: Ctx, infos: Sequence[StepInfo], rollback_ids: Collection[str]) -> None:
    """Every `needs` names a step under steps:, and the graph has no cycle."""
    known = {i.step.id for i in infos}
    for info in infos:
        if "needs" not in info.m:
            continue
        for n, name in enumerate(info.step.needs):
            if name in known:
                continue
            pos = _item_pos(info.m, "needs", n)
            if name in rollback_ids:
                ctx.add(pos, f"'{name}' is a rollback step — a step cannot need a rollback step")
            else:
                ctx.add(pos, _unknown("step", name, known, "steps", "needs"))
    by_id = {i.step.id: i for i in infos}
    if len(by_id) < len(infos):
        return  # duplicate ids make the graph ambiguous; they are reported on their own
    for cycle in dag.find_cycles([i.step for i in infos]):
        info = by_id[cycle[0]]
        pos = info.m.val_pos.get("needs", info.m.pos)
        ctx.add(pos, f"dependency cycle: {dag.format_cycle(cycle)} — remove one of these needs")


def check_refs(ctx: Ctx, infos: Sequence[StepInfo], teams: Collection[str], systems: Collection[str]) -> None:
    """`team`, `systems`, `recovers` and `rpo_of` of every step name defined teams/systems."""
    for info in infos:
        step, m = info.step, info.m
        if step.team and step.team not in teams:
            ctx.add(m.val_pos["team"], _unknown("team", step.team, teams, "teams"))
        for key in ("systems", "recovers", "rpo_of"):
            for n, name in enumerate(getattr(step, key)):
                if name not in systems:
                    ctx.add(_item_pos(m, key, n), _unknown("system", name, systems, "systems", key))


def _ssh_host(info: StepInfo) -> tuple[str, YMap] | None:
    """(host name, the mapping holding `host`) of an ssh action or ssh probe."""
    action, m = info.step.action, info.m
    if isinstance(action, SshAction):
        holder = m.get("ssh")
        name = action.host
    elif isinstance(action, CheckAction) and isinstance(action.probe, SshProbe):
        check = m.get("check")
        holder = check.get("ssh") if isinstance(check, YMap) else None
        name = action.probe.host
    else:
        return None
    return (name, holder) if isinstance(holder, YMap) and "host" in holder.val_pos else None


def check_hosts(ctx: Ctx, infos: Sequence[StepInfo], hosts: Collection[str]) -> None:
    """ssh actions and ssh probes name a host of `hosts:` or of the inventory."""
    for info in infos:
        found = _ssh_host(info)
        if found is not None and found[0] not in hosts:
            hint = did_you_mean(found[0], hosts) or " — define it under hosts: or in the inventory"
            ctx.add(found[1].val_pos["host"], f"unknown host '{found[0]}'{hint}")


def check_declares(ctx: Ctx, infos: Sequence[StepInfo]) -> None:
    """At most one step declares the disaster (T0)."""
    declaring = [i for i in infos if i.step.declares]
    for extra in declaring[1:]:
        first = declaring[0]
        msg = f"more than one step declares (first: '{first.step.id}' at line {first.m.pos.line})"
        ctx.add(extra.m.key_pos["declares"], msg + " — keep declares: true on one step only")


def check_rpo_measured(ctx: Ctx, systems: YMap | None, infos: Sequence[StepInfo]) -> None:
    """A system with an `rpo` target has a step that measures it (a warning: the run reports it
    UNMEASURED and exits 1; `--strict` makes it an error)."""
    if not isinstance(systems, YMap):
        return
    measured = {name for i in infos for name in i.step.rpo_of}
    measured |= {
        name
        for i in infos
        if isinstance(i.step.action, CheckAction) and i.step.action.probe.probe == "python"
        for name in i.step.systems
    }
    for name, spec in systems.items():
        if isinstance(spec, YMap) and spec.get("rpo") is not None and name not in measured:
            ctx.warn(
                spec.key_pos["rpo"],
                f"system '{name}' has an rpo target but no step measures it, so its RPO will be reported "
                f"UNMEASURED — add rpo_of: [{name}] to the step that prints the newest data's time at DR "
                "(or a python check of the system that returns data_timestamp)",
            )


def check_recovered(ctx: Ctx, systems: YMap | None, infos: Sequence[StepInfo]) -> None:
    """Every system has a step (under steps:) that recovers it."""
    if not isinstance(systems, YMap):
        return
    recovered = {name for i in infos for name in i.step.recovers}
    for name in systems:
        if name not in recovered:
            msg = f"system '{name}' has no step that recovers it — add recovers: [{name}]"
            ctx.add(systems.key_pos[name], msg + " to the step that proves it is back")


def check_awx(ctx: Ctx, infos: Sequence[StepInfo], root: YMap) -> None:
    """`awx` steps need the top-level `awx:` controller; `awx_approve` names an awx workflow step
    that the approving step does not wait for (it approves while that step runs)."""
    by_id = {i.step.id: i for i in infos}
    for info in infos:
        action = info.step.action
        if isinstance(action, AwxAction) and root.get("awx") is None:
            fix = "add a top-level awx: {url: https://<controller>, token_var: AWX_TOKEN}"
            ctx.add(info.m.key_pos["awx"], f"{info.where}.awx: no controller is configured — {fix}")
        if isinstance(action, ManualAction) and action.awx_approve is not None:
            _check_approval(ctx, info, action.awx_approve.step, by_id)


def _check_approval(ctx: Ctx, info: StepInfo, target: str, by_id: dict[str, StepInfo]) -> None:
    manual = info.m.get("manual")
    approve = manual.get("awx_approve") if isinstance(manual, YMap) else None
    pos = approve.val_pos.get("step", approve.pos) if isinstance(approve, YMap) else info.m.pos
    found = by_id.get(target)
    awx_steps = [i for i, s in by_id.items() if isinstance(s.step.action, AwxAction)]
    if found is None or not isinstance(found.step.action, AwxAction):
        hint = did_you_mean(target, awx_steps) or " — name a step with awx: {..., workflow: true}"
        ctx.add(pos, f"{info.where}.manual.awx_approve.step: '{target}' is not an awx step{hint}")
    elif not found.step.action.workflow:
        ctx.add(pos, f"'{target}' launches a job template, not a workflow — set workflow: true on it")
    elif target in _ancestors(info.step.id, by_id):
        ctx.add(
            pos,
            f"{info.where} waits for '{target}', which waits for this approval — "
            f"give {info.step.id} needs: that do not include {target}",
        )


def _ancestors(step_id: str, by_id: dict[str, StepInfo]) -> set[str]:
    """Every step `step_id` waits for, directly or not."""
    seen: set[str] = set()
    todo = list(by_id[step_id].step.needs) if step_id in by_id else []
    while todo:
        sid = todo.pop()
        if sid not in seen and sid in by_id:
            seen.add(sid)
            todo.extend(by_id[sid].step.needs)
    return seen
