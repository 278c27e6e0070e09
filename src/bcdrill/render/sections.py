"""Report sections about the drill's set-up, from the scenario snapshot in `run.started`:
identity, scope, objectives (when each clock starts and stops), organisation and sign-offs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from bcdrill.record.snapshot import ParticipantSpec, Snapshot, StepSpec, SystemSpec, TeamSpec
from bcdrill.render.clock import dur
from bcdrill.verdicts.rto import Evaluation
from bcdrill.verdicts.timeline import StepRun

REPORT_FORMAT = "2"

# Sign-off roles, in order: (label key, case-insensitive substrings of a participant's role).
SIGNOFF_ROLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("so_commander", ("drill commander", "commander", "总指挥", "指挥")),
    ("so_it_head", ("it head", "head of it", "cio", "科技负责人", "信息部负责人", "it 负责人")),
    ("so_business", ("business owner", "业务负责人", "business", "业务")),
    ("so_risk", ("risk", "compliance", "风险", "合规")),
    ("so_evaluator", ("evaluator", "评估")),
)


def identity(start: Mapping[str, Any], snap: Snapshot, summary: Mapping[str, Any]) -> dict[str, Any]:
    planned = snap.get("planned")
    return {
        "scenario": summary["scenario"],
        "title": snap.get("title") or summary["scenario"],
        "run_id": summary["run_id"],
        "type": snap.get("type"),
        "planned": True if planned is None else bool(planned),
        "environment": summary["environment"],
        "dry_run": summary["dry_run"],
        "tool_version": start.get("tool_version"),
        "report_format": REPORT_FORMAT,
        "scenario_sha256": start.get("scenario_sha256"),
        "host": start.get("host"),
        "user": start.get("user"),
        "owner": snap.get("owner"),
        "description": snap.get("description"),
        "references": list(snap.get("references") or []),
    }


def _site(
    spec: SystemSpec, names: Mapping[str, Any], key: Literal["production_site", "dr_site"]
) -> str | None:
    value = spec.get(key) or names.get(key)
    return str(value) if value else None


def scope(
    start: Mapping[str, Any], snap: Snapshot, runs: list[StepRun], evaluation: Evaluation
) -> dict[str, Any]:
    """Systems with tier and sites (never invented: `-` when the scenario does not say), exclusions."""
    names = dict(start.get("vars") or {})  # the non-secret --var values (the snapshot has no vars)
    specs = snap.get("systems") or {}
    systems = []
    for sid, result in evaluation.systems.items():
        spec = specs.get(sid) or SystemSpec(id=sid)
        systems.append(
            {
                "id": sid,
                "title": result.title,
                "tier": result.tier,
                "production": _site(spec, names, "production_site"),
                "dr": _site(spec, names, "dr_site"),
                "steps": sum(1 for r in runs if sid in r.systems),
                "description": spec.get("description"),
            }
        )
    excluded = [str(x) for x in snap.get("exclusions") or []]
    steps = snap.get("steps") or []
    skipped = [s for s in steps if s.get("enabled") is False]
    return {
        "systems": systems,
        "exclusions": excluded,
        "excluded_steps": [
            {"id": s["id"], "title": s.get("title") or s["id"], "when": s.get("when")} for s in skipped
        ],
        "steps": len(steps),
        "rollback_steps": len(snap.get("rollback") or []),
    }


def _titles(steps: list[StepSpec], key: Literal["recovers", "rpo_of"], sid: str) -> list[str]:
    return [s.get("title") or s["id"] for s in steps if sid in (s.get(key) or ())]


def objectives(snap: Snapshot, evaluation: Evaluation) -> list[dict[str, Any]]:
    """Per system: the targets and the steps that stop the RTO clock / measure the RPO."""
    steps = list(snap.get("steps") or [])
    return [
        {
            "id": sid,
            "title": s.title,
            "tier": s.tier,
            "rto_target": dur(s.rto_target),
            "rpo_target": dur(s.rpo_target),
            "rto_stop": _titles(steps, "recovers", sid),
            "rpo_by": _titles(steps, "rpo_of", sid),
        }
        for sid, s in evaluation.systems.items()
    ]


def team_title(teams: Mapping[str, TeamSpec], tid: str | None) -> str | None:
    """A team's title (its id when the scenario gives it none)."""
    team = teams.get(tid) if tid else None
    return (team.get("title") if team else None) or tid


def declaring_step(snap: Snapshot) -> str | None:
    step = next((s for s in snap.get("steps") or [] if s.get("declares")), None)
    return (step.get("title") or step["id"]) if step else None


def organisation(snap: Snapshot, runs: list[StepRun]) -> dict[str, Any]:
    """Teams with their members and steps; participants; people who confirmed steps."""
    teams = snap.get("teams") or {}
    people = list(snap.get("participants") or [])
    rows = [
        {
            "id": tid,
            "title": (team or {}).get("title") or tid,
            "members": ", ".join(p["name"] for p in people if p.get("team") == tid),
            "steps": sum(1 for r in runs if r.team == tid),
        }
        for tid, team in teams.items()
    ]
    participants = [
        {
            "name": p["name"],
            "team": team_title(teams, p.get("team")),
            "role": p.get("role"),
        }
        for p in people
    ]
    named = {p["name"] for p in people}
    automatic = {"auto", "auto (dry run)"}  # not people: the auto-ack banner says so
    confirmers = sorted({a.by for r in runs for a in r.acks if a.by and a.by not in named | automatic})
    return {"teams": rows, "participants": participants, "confirmers": confirmers, "owner": snap.get("owner")}


BUSINESS_NEEDLES = ("verif", "验证", "business", "业务")
LEADER_NEEDLES = ("leader", "组长", "bcp", "领导")


def _role_key(role: str) -> str | None:
    """The first sign-off role whose words appear in `role` (business verifiers count as owners)."""
    for key, needles in SIGNOFF_ROLES:
        if any(n in role for n in needles) or (
            key == "so_business" and any(n in role for n in BUSINESS_NEEDLES)
        ):
            return key
    return None


def signoffs(snap: Snapshot, L: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per sign-off role: the matching participants, or one blank line.

    A participant signs as a business owner when their role says they verify business functions,
    when their team owns a manual step (business verification is done by hand), or when they
    declared the disaster (a leadership role in the declaring step's team).
    """
    people = list(snap.get("participants") or [])
    steps = [*(snap.get("steps") or [])]
    manual_teams = {s.get("team") for s in steps if s.get("kind") == "manual" and s.get("team")}
    declaring = next((s for s in steps if s.get("declares")), None)
    declarer_team = declaring.get("team") if declaring else None
    found: dict[str, list[tuple[int, ParticipantSpec]]] = {key: [] for key, _ in SIGNOFF_ROLES}
    for i, p in enumerate(people):
        role = str(p.get("role") or "").lower()
        key = _role_key(role)
        declarer = (
            bool(declarer_team) and p.get("team") == declarer_team and any(n in role for n in LEADER_NEEDLES)
        )
        if key is None and (declarer or p.get("team") in manual_teams):
            key = "so_business"
        if key is not None:
            # the declarer signs first among the business owners
            found[key].append((-1 if declarer and key == "so_business" else i, p))
    rows = []
    for key, _ in SIGNOFF_ROLES:
        for _, p in sorted(found[key], key=lambda item: item[0]) or [(-1, ParticipantSpec())]:
            rows.append({"role": L[key], "name": p.get("name"), "title": p.get("role")})
    return rows
