"""`drill plan`: projected schedule, critical path, projected RTO, the four formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bcdrill.plan.build import Plan, build_plan
from bcdrill.plan.formats import render_plan
from bcdrill.scenario.loader import load_scenario, parse_scenario

SCENARIO = b"""
version: 1
name: plan-test
title: Plan test
environment: lab
systems:
  core: {title: Core, rto: 1h}
  mail: {title: Mail, rto: 10m}
  web: {title: "Web \\"site\\""}
steps:
  - {id: declare, manual: {prompt: go}, declares: true, expect: 5m, phase: start}
  - {id: promote, run: "true", expect: 20m, phase: failover}
  - {id: core-up, check: {tcp: {host: x, port: 1}}, expect: 5m, recovers: [core], phase: failover}
  - {id: mail-up, needs: [declare], check: {smtp: {host: x}}, expect: 15m, recovers: [mail]}
  - {id: web-up, needs: [declare], run: "true", recovers: [web], when: false}
  - {id: notes, needs: [declare], manual: {prompt: notes}}
rollback:
  - {id: undo, run: "true"}
"""


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    return build_plan(parse_scenario(SCENARIO, "plan.yaml", tmp_path))


def test_projection(plan: Plan) -> None:
    assert plan.critical_path == ("declare", "promote", "core-up")
    assert plan.length == 30 * 60 and plan.t0 == 5 * 60 and plan.declared_by == "declare"
    assert plan.no_expect == ("notes",)  # web-up is disabled: not counted
    assert plan.width == 4  # promote, mail-up, web-up, notes
    systems = {s.id: s for s in plan.systems}
    assert (systems["core"].projected_rto, systems["core"].verdict, systems["core"].margin) == (
        1500,
        "within",
        2100,
    )
    assert (systems["mail"].projected_rto, systems["mail"].verdict, systems["mail"].margin) == (
        900,
        "breach",
        -300,
    )
    assert systems["web"].verdict == "not-recovered" and systems["web"].projected_rto is None


def test_text(plan: Plan) -> None:
    text = render_plan(plan, "text")
    assert "Plan: plan-test — Plan test (lab)" in text
    assert "Note: 1 steps have no expect and count as 0s: notes" in text
    assert "Critical path (30m 00s): declare -> promote -> core-up" in text
    assert "  core (Core): projected 25m 00s, target 1h 00m 00s — within target, margin 35m 00s" in text
    assert "  mail (Mail): projected 15m 00s, target 10m 00s — BREACH predicted, margin -5m 00s" in text
    assert "web-up (run): SKIPPED (when is false)" in text
    assert "  failover: +5m 00s → +30m 00s (2 step(s))" in text
    assert "Rollback (in sequence, on abort): undo" in text


def test_json_is_stable_and_complete(plan: Plan) -> None:
    data = json.loads(render_plan(plan, "json"))
    assert data["format"] == "bcdrill-plan/1"
    assert data["critical_path"] == ["declare", "promote", "core-up"]
    assert data["steps"][1] == {
        "id": "promote", "title": None, "phase": "failover", "team": None, "kind": "run",
        "needs": ["declare"], "expect": 1200.0, "start": 300.0, "finish": 1500.0, "level": 1,
        "critical": True, "enabled": True, "declares": False, "recovers": [],
    }  # fmt: skip
    assert data["systems"][1]["verdict"] == "breach"
    assert render_plan(plan, "json") == render_plan(plan, "json")


def test_dot(plan: Plan) -> None:
    dot = render_plan(plan, "dot")
    assert dot.startswith('digraph "plan-test" {')
    assert '"declare" -> "promote" [color=red, penwidth=2];' in dot
    assert '"declare" -> "mail-up";' in dot
    assert '"web-up" [label="web-up\\nrun\\nskipped\\nrecovers web", style=dashed, fontcolor=gray];' in dot
    assert dot.rstrip().endswith("}")


def test_mermaid(plan: Plan) -> None:
    mermaid = render_plan(plan, "mermaid")
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  s0["declare<br/>manual · 5m 00s"]' in lines
    assert "  s0 --> s1" in lines and "  linkStyle 0,1 stroke:#d00,stroke-width:3px" in lines
    assert "  class s0,s1,s2 critical" in lines and "  class s4 skipped" in lines


def test_unknown_format(plan: Plan) -> None:
    with pytest.raises(ValueError, match="unknown plan format 'svg'"):
        render_plan(plan, "svg")


def test_valid_full_fixture_plans_in_every_format() -> None:
    scn = load_scenario(Path(__file__).parents[1] / "scenario" / "fixtures" / "loader" / "valid_full.yaml")
    plan = build_plan(scn)
    for fmt in ("text", "json", "dot", "mermaid"):
        assert render_plan(plan, fmt)


def test_no_declares_means_t0_is_the_start(tmp_path: Path) -> None:
    data = b"version: 1\nname: n\ntitle: T\nenvironment: lab\nsteps:\n  - {id: a, run: 'true', expect: 1m}\n"
    plan = build_plan(parse_scenario(data, "n.yaml", tmp_path))
    assert plan.t0 == 0 and plan.declared_by is None
    assert "T0: the run's start (no step declares)" in render_plan(plan)
