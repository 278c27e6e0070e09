"""Building `Step`s: one action, options resolved against `defaults`, `when` evaluated.

A step that has problems is still built (with a placeholder action) so that the
cross-reference checks can go on; the scenario is never returned when problems exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bcdrill.scenario import fields as F
from bcdrill.scenario.actions import build_action
from bcdrill.scenario.model import ACTION_KINDS, Defaults, ManualAction, Step, Until
from bcdrill.scenario.templating import TemplateProblem
from bcdrill.scenario.validator import INVALID, Ctx
from bcdrill.scenario.yamlpos import YList, YMap, type_name

_ROLLBACK_ONLY_MAIN = ("declares", "recovers", "rpo_of")


@dataclass(frozen=True)
class StepInfo:
    """A built step plus where it was written (for cross-reference problems)."""

    step: Step
    m: YMap
    where: str


def _ok(value: Any, fallback: Any) -> Any:
    return fallback if value is INVALID or value is None else value


def _one_action(ctx: Ctx, m: YMap, f: dict[str, Any], where: str) -> tuple[str | None, Any]:
    kind = ctx.exactly_one(m, ACTION_KINDS, "action", where, "split it into one step per action")
    return (kind, f[kind]) if kind is not None else (None, INVALID)


def _until(ctx: Ctx, m: YMap, f: dict[str, Any], kind: str | None, where: str) -> Until | None:
    value = f["until"]
    if value is None or value is INVALID:
        return None
    if kind != "check":
        ctx.add(m.key_pos["until"], f"{where}.until: only a check step can poll — remove until or use check:")
        return None
    u = ctx.fields(value, F.UNTIL, f"{where}.until")
    if u["every"] in (None, INVALID) or u["within"] in (None, INVALID):
        return None
    return Until(every=u["every"], within=u["within"])


def _enabled(ctx: Ctx, m: YMap, when: Any) -> tuple[str | None, bool]:
    if when is None or when is INVALID:
        return None, True
    if isinstance(when, bool):
        return str(when).lower(), when
    try:
        return when, bool(ctx.tmpl.evaluate(when))
    except TemplateProblem as exc:
        ctx.add(m.val_pos["when"], f"when: {exc}")
        return when, True


def _timeout(m: YMap, f: dict[str, Any], defaults: Defaults) -> float | None:
    if "timeout" in m and f["timeout"] is not INVALID:
        value: float | None = f["timeout"]
        return value
    return defaults.timeout


def _rollback_rules(ctx: Ctx, m: YMap, where: str) -> None:
    if "needs" in m:
        ctx.add(m.key_pos["needs"], f"{where}: rollback steps run in sequence — remove needs")
    for key in _ROLLBACK_ONLY_MAIN:
        if m.get(key):
            ctx.add(
                m.key_pos[key], f"{where}: {key} has no effect in rollback — move it to a step under steps:"
            )


MAX_ID_BYTES = 200  # a step id names files (logs/<id>.log, acks/<id>.json): keep it within NAME_MAX


def _id_problem(sid: str) -> str | None:
    """Why `sid` cannot be a step id (it names files in the run directory), or None."""
    if not sid.strip():
        return "must not be empty"
    if any(c in "/\\" or not c.isprintable() for c in sid):
        return "must not contain '/', '\\' or control characters"
    if sid.startswith("."):
        return "must not start with '.'"
    if len(sid.encode()) > MAX_ID_BYTES:
        return f"is too long ({len(sid.encode())} bytes; at most {MAX_ID_BYTES})"
    return None


def build_step(ctx: Ctx, m: YMap, where: str, prev: str | None, defaults: Defaults, rollback: bool) -> Step:
    f = ctx.fields(m, F.STEP, where)
    if isinstance(f["id"], str) and (problem := _id_problem(f["id"])) is not None:
        fix = "step ids name log files: use letters, digits and '-'"
        ctx.add(m.val_pos["id"], f"{where}.id: {problem} — {fix}")
        f["id"] = INVALID
    kind, value = _one_action(ctx, m, f, where)
    action = build_action(ctx, kind, value, m.val_pos[kind], where) if kind else None
    when, enabled = _enabled(ctx, m, f["when"])
    if rollback:
        _rollback_rules(ctx, m, where)
    given = "needs" in m and not rollback
    needs = _ok(f["needs"], ()) if given else ((prev,) if prev else ())
    return Step(
        id=_ok(f["id"], ""),
        action=action or ManualAction(prompt=""),
        pos=m.pos,
        title=_ok(f["title"], None),
        phase=_ok(f["phase"], None),
        team=_ok(f["team"], None),
        systems=_ok(f["systems"], ()),
        needs=needs,
        timeout=_timeout(m, f, defaults),
        expect=_ok(f["expect"], None),
        retries=_ok(f["retries"], defaults.retries),
        retry_delay=_ok(f["retry_delay"], defaults.retry_delay),
        until=_until(ctx, m, f, kind, where),
        on_failure=_ok(f["on_failure"], defaults.on_failure),
        when=when,
        enabled=enabled,
        idempotent=_ok(f["idempotent"], False),
        dry_run=_ok(f["dry_run"], "run"),
        declares=_ok(f["declares"], False) and not rollback,
        recovers=() if rollback else _ok(f["recovers"], ()),
        rpo_of=() if rollback else _ok(f["rpo_of"], ()),
    )


def build_steps(ctx: Ctx, items: Any, section: str, defaults: Defaults) -> list[StepInfo]:
    """Every step of `steps:` or `rollback:` (section), in list order."""
    if not isinstance(items, YList):
        return []
    out: list[StepInfo] = []
    prev: str | None = None
    for index, (m, pos) in enumerate(zip(items, items.item_pos, strict=False)):
        if not isinstance(m, YMap):
            ctx.add(pos, f"{section}[{index}]: expected a mapping (a step), got {type_name(m)}")
            continue
        sid = m.get("id")
        named = isinstance(sid, (str, int)) and not isinstance(sid, bool) and sid != ""
        where = f"{section}[{sid}]" if named else f"{section}[{index}]"
        step = build_step(ctx, m, where, prev, defaults, section == "rollback")
        out.append(StepInfo(step, m, where))
        prev = step.id or prev
    return out
