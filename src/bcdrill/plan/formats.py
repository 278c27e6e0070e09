"""Machine formats of a plan: JSON (documented, stable), Graphviz dot, Mermaid flowchart.

JSON (`"format": "bcdrill-plan/1"`): scenario, title, environment, length, t0,
declared_by, width, critical_path [ids], no_expect [ids], rollback [ids],
steps [{id, title, phase, team, kind, needs, expect, start, finish, level, critical,
enabled, declares, recovers}], systems [{id, title, tier, rto_target, projected_rto,
recovered_by, verdict, margin}]. Times are seconds (numbers); null where unknown.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from bcdrill.common.duration import format_duration
from bcdrill.common.jsonfmt import dumps_readable

if TYPE_CHECKING:
    from bcdrill.plan.build import Plan, PlannedStep


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
