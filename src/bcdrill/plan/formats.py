"""Machine formats of a plan: JSON (documented, stable), Graphviz dot, Mermaid flowchart.

JSON (`"format": "bcdrill-plan/1"`): scenario, title, environment, length, t0,
declared_by, width, critical_path [ids], no_expect [ids], rollback [ids],
steps [{id, title, phase, team, kind, needs, expect, start, finish, level, critical,
enabled, declares, recovers}], systems [{id, title, tier, rto_target, projected_rto,
recovered_by, verdict, margin}], channels [{id, platform, teams, events, per_minute}] (the
chat channels of `notify:`, never their URLs or keys). Times are seconds (numbers); null where unknown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from bcdrill.common.duration import format_duration
from bcdrill.common.duration import format_duration as fmt
from bcdrill.common.jsonfmt import dumps_readable
from bcdrill.plan.build import FORMATS, Plan, PlannedChannel, PlannedStep
from bcdrill.scenario.fields import NOTIFY_EVENTS


def plan_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format": "bcdrill-plan/1",
        "scenario": plan.name,
        "title": plan.title,
        "environment": plan.environment,
        "length": plan.length,
        "t0": plan.t0,
        "declared_by": plan.declared_by,
        "width": plan.width,
        "critical_path": list(plan.critical_path),
        "no_expect": list(plan.no_expect),
        "rollback": list(plan.rollback),
        "steps": [
            {**dataclasses.asdict(p), "needs": list(p.needs), "recovers": list(p.recovers)}
            for p in plan.steps
        ],
        "systems": [dataclasses.asdict(s) for s in plan.systems],
        "channels": [
            {**dataclasses.asdict(c), "teams": list(c.teams), "events": list(c.events)} for c in plan.channels
        ],
    }


def render_json(plan: Plan) -> str:
    return dumps_readable(plan_dict(plan))


def _label(p: PlannedStep) -> str:
    lines = [p.id, p.kind + (f" · {format_duration(p.expect)}" if p.expect is not None else "")]
    if p.title:
        lines.insert(1, p.title)
    if not p.enabled:
        lines.append("skipped")
    if p.recovers:
        lines.append("recovers " + ", ".join(p.recovers))
    return "\n".join(lines)


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(plan: Plan) -> str:
    known = {p.id for p in plan.steps}
    on_path = set(zip(plan.critical_path, plan.critical_path[1:], strict=False))
    out = [f"digraph {_dot_str(plan.name)} {{", "  rankdir=LR;", '  node [shape=box, fontname="sans-serif"];']
    for p in plan.steps:
        style = ["style=dashed", "fontcolor=gray"] if not p.enabled else []
        if p.critical:
            style += ["color=red", "penwidth=2"]
        attrs = ", ".join([f"label={_dot_str(_label(p))}", *style])
        out.append(f"  {_dot_str(p.id)} [{attrs}];")
    for p in plan.steps:
        for need in p.needs:
            if need in known:
                extra = " [color=red, penwidth=2]" if (need, p.id) in on_path else ""
                out.append(f"  {_dot_str(need)} -> {_dot_str(p.id)}{extra};")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_str(text: str) -> str:
    escaped = text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return '"' + escaped.replace("\n", "<br/>") + '"'


def render_mermaid(plan: Plan) -> str:
    node = {p.id: f"s{i}" for i, p in enumerate(plan.steps)}
    on_path = set(zip(plan.critical_path, plan.critical_path[1:], strict=False))
    out = ["flowchart LR"]
    out += [f"  {node[p.id]}[{_mermaid_str(_label(p))}]" for p in plan.steps]
    edges, hot = 0, []
    for p in plan.steps:
        for need in p.needs:
            if need in node:
                if (need, p.id) in on_path:
                    hot.append(str(edges))
                out.append(f"  {node[need]} --> {node[p.id]}")
                edges += 1
    if hot:
        out.append(f"  linkStyle {','.join(hot)} stroke:#d00,stroke-width:3px")
    out.append("  classDef critical stroke:#d00,stroke-width:3px")
    out.append("  classDef skipped stroke-dasharray:5 5,color:#888")
    critical = [node[p.id] for p in plan.steps if p.critical]
    skipped = [node[p.id] for p in plan.steps if not p.enabled]
    if critical:
        out.append(f"  class {','.join(critical)} critical")
    if skipped:
        out.append(f"  class {','.join(skipped)} skipped")
    return "\n".join(out) + "\n"


def render_plan(plan: Plan, fmt_name: str = "text") -> str:
    """The plan as text, json, dot (Graphviz) or mermaid."""
    renderers: dict[str, Callable[[Plan], str]] = {
        "text": render_text,
        "json": render_json,
        "dot": render_dot,
        "mermaid": render_mermaid,
    }
    if fmt_name not in renderers:
        raise ValueError(f"unknown plan format {fmt_name!r} (one of: {', '.join(FORMATS)})")
    return renderers[fmt_name](plan)


def _at(seconds: float) -> str:
    return "+0s" if seconds == 0 else "+" + fmt(seconds)


VERDICTS = {
    "within": "within target",
    "breach": "BREACH predicted",
    "no-target": "no target",
    "not-recovered": "NOT RECOVERED (recovering step skipped)",
}


def _header(plan: Plan) -> list[str]:
    levels = max((p.level for p in plan.steps), default=-1) + 1
    lines = [
        f"Plan: {plan.name} — {plan.title} ({plan.environment})",
        f"{len(plan.steps)} steps in {levels} parallel groups, up to {plan.width} side by side; "
        f"projected length {fmt(plan.length)}",
    ]
    if plan.declared_by:
        lines.append(f"T0: end of '{plan.declared_by}' at {_at(plan.t0)}")
    else:
        lines.append("T0: the run's start (no step declares)")
    if plan.no_expect:
        shown = ", ".join(plan.no_expect[:10]) + (", ..." if len(plan.no_expect) > 10 else "")
        lines.append(f"Note: {len(plan.no_expect)} steps have no expect and count as 0s: {shown}")
    lines.append("Assumes unlimited parallelism and first-attempt success (no retries, no extra polling).")
    return lines


def _step_line(p: PlannedStep) -> str:
    mark = "*" if p.critical else " "
    phase = f" [{p.phase}]" if p.phase else ""
    label = f" — {p.title}" if p.title else ""
    if not p.enabled:
        return f"  {mark} {p.id} ({p.kind}){phase}{label}: SKIPPED (when is false)"
    expect = fmt(p.expect) if p.expect is not None else "no expect"
    extra = " declares T0" if p.declares else ""
    extra += f" recovers {', '.join(p.recovers)}" if p.recovers else ""
    span = f"{_at(p.start)} → {_at(p.finish)}"
    return f"  {mark} {p.id} ({p.kind}){phase}{label}: {span} ({expect}){extra}"


def _groups(plan: Plan) -> list[str]:
    by_level: dict[int, list[PlannedStep]] = {}
    for p in plan.steps:
        by_level.setdefault(p.level, []).append(p)
    lines = ["", "Parallel groups (* = on the critical path):"]
    for level in sorted(by_level):
        members = by_level[level]
        lines.append(f"Group {level + 1} — {len(members)} step(s), from {_at(min(p.start for p in members))}")
        lines.extend(_step_line(p) for p in members)
    return lines


def _phases(plan: Plan) -> list[str]:
    spans: dict[str, list[PlannedStep]] = {}
    for p in plan.steps:
        if p.phase:
            spans.setdefault(p.phase, []).append(p)
    if not spans:
        return []
    lines = ["", "Phases:"]
    for phase, members in spans.items():
        first, last = min(p.start for p in members), max(p.finish for p in members)
        lines.append(f"  {phase}: {_at(first)} → {_at(last)} ({len(members)} step(s))")
    return lines


def _systems(plan: Plan) -> list[str]:
    if not plan.systems:
        return []
    lines = ["", "Projected RTO per system (from T0):"]
    for s in plan.systems:
        margin = "" if s.margin is None else f", margin {fmt(s.margin)}"
        target = fmt(s.rto_target) if s.rto_target is not None else "-"
        lines.append(
            f"  {s.id} ({s.title}): projected {fmt(s.projected_rto)}, target {target} — "
            f"{VERDICTS[s.verdict]}{margin}"
        )
    return lines


def channel_lines(channels: tuple[PlannedChannel, ...]) -> list[str]:
    """One line per chat channel: id, platform, teams, events, rate (never a URL or a key)."""
    lines = []
    for c in channels:
        teams = "teams " + ", ".join(c.teams) if c.teams else "general (no teams:)"
        events = "all events" if set(c.events) == set(NOTIFY_EVENTS) else ", ".join(c.events)
        lines.append(f"  {c.id}: {c.platform} — {teams}; {events}; up to {c.per_minute}/min")
    return lines


def render_text(plan: Plan) -> str:
    path = " -> ".join(plan.critical_path) or "-"
    lines = [*_header(plan), *_phases(plan), *_groups(plan)]
    lines += ["", f"Critical path ({fmt(plan.length)}): {path}", *_systems(plan)]
    if plan.rollback:
        lines += ["", f"Rollback (in sequence, on abort): {' -> '.join(plan.rollback)}"]
    if plan.channels:
        lines += ["", f"Notifications ({len(plan.channels)} channel(s); drill run --no-notify sends none):"]
        lines += channel_lines(plan.channels)
    return "\n".join(lines) + "\n"
