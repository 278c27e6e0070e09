"""Fixture journals for the journal/RTO/summary/report/metrics tests.

`JournalBuilder` makes hash-chained records as data with fixed timestamps (so golden files are
stable); `reference_events()` is a small annual drill with every verdict the reports show:
met, BREACH, not achieved, unmeasured, no target; a retried step, a timeout, a skip, manual
confirmations and notes. Times: the run starts 2026-05-01T00:30:00Z (08:30 in Asia/Shanghai).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bcdrill.common.timestamps import utc_ts
from bcdrill.record.journal import GENESIS, line_hash
from bcdrill.record.snapshot import scenario_snapshot
from bcdrill.scenario.model import (
    CheckAction,
    ManualAction,
    Participant,
    Pos,
    RunAction,
    Scenario,
    Step,
    System,
    TcpProbe,
    Team,
)

START = datetime(2026, 5, 1, 0, 30, tzinfo=timezone.utc)


class JournalBuilder:
    """Append records as data: `ts` = START + at, `t` = at, chained like the real writer."""

    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self.records: list[dict[str, Any]] = []

    def add(self, event: str, at: float, **payload: Any) -> dict[str, Any]:
        prev = self.records[-1]["hash"] if self.records else GENESIS
        ts = utc_ts(self.start + timedelta(seconds=at))
        record = {"seq": len(self.records), "ts": ts, "t": round(at, 6), "event": event, **payload}
        record["prev"] = prev
        record = json.loads(json.dumps(record, ensure_ascii=False))
        record["hash"] = line_hash(record)
        self.records.append(record)
        return record

    def ts(self, at: float) -> str:
        return utc_ts(self.start + timedelta(seconds=at))

    def write(self, path: Path) -> Path:
        write_lines(path, self.records)
        return path


def log_text(step: str) -> str:
    """The content of the fixture runs' step logs (whose digest the fixture journal records)."""
    return f"output of {step}\n"


def log_digest(step: str) -> str:
    return hashlib.sha256(log_text(step).encode("utf-8")).hexdigest()


SCENARIO_TEXT = "version: 1\nname: annual-2026\n"  # the fixture runs' scenario.yaml (its digest is journaled)
SCENARIO_SHA256 = hashlib.sha256(SCENARIO_TEXT.encode("utf-8")).hexdigest()


def write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    path.write_text(text, encoding="utf-8")


def _step(sid: str, line: int, **kw: Any) -> Step:
    action = kw.pop("action", RunAction(command="true"))
    return Step(id=sid, action=action, pos=Pos("annual.yaml", line, 5), **kw)


def reference_scenario() -> Scenario:
    """A small annual drill: four systems, ten steps, one rollback step."""
    manual = ManualAction(prompt="确认已宣布进入灾难恢复状态")
    steps = (
        _step(
            "declare",
            10,
            title="BCP 领导小组宣布启动灾备切换",
            phase="启动",
            team="ops",
            action=manual,
            declares=True,
        ),
        _step("isolate", 16, title="隔离生产与灾备网络", phase="切换", team="tech", needs=("declare",)),
        _step("promote-core-db", 20, phase="切换", team="tech", systems=("core-individual",), retries=1),
        _step("core-rpo", 24, phase="切换", systems=("core-individual",), rpo_of=("core-individual",)),
        _step(
            "core-up",
            28,
            phase="验证",
            systems=("core-individual",),
            recovers=("core-individual",),
            action=CheckAction(probe=TcpProbe(host="dr-db-1", port=5432)),
        ),
        _step(
            "core-business",
            32,
            title="验证新契约录入 | 保全\n理赔",
            phase="业务验证",
            team="ops",
            action=ManualAction(prompt="验证新契约录入、保全、理赔功能"),
        ),
        _step(
            "esales-up", 36, title="E-销系统切换", phase="切换", systems=("e-sales",), recovers=("e-sales",)
        ),
        _step("esales-rpo", 40, phase="切换", systems=("e-sales",), rpo_of=("e-sales",)),
        _step(
            "website-up", 44, title="公司官网切换", phase="切换", systems=("website",), recovers=("website",)
        ),
        _step(
            "mail-up",
            48,
            title="邮件服务器切换",
            phase="切换",
            systems=("mail",),
            recovers=("mail",),
            on_failure="continue",
            timeout=600.0,
        ),
        _step("archive", 52, title="归档", phase="收尾", enabled=False, when="false"),
    )
    return Scenario(
        path="/drills/annual.yaml",
        sha256="ab" * 32,
        version=1,
        name="annual-2026",
        title="2026 年度 BCP 系统级实战演练",
        environment="staging",
        timezone="Asia/Shanghai",
        owner="ops",
        references=("BCP-DRP-v7.2", "GB/T 20988-2025"),
        teams={"ops": Team("ops", "运营管理部"), "tech": Team("tech", "科技信息部")},
        participants=(Participant("张三", "tech", "drill commander"),),
        systems={
            "core-individual": System("core-individual", "个险核心系统", 1, rto=4 * 3600.0, rpo=1800.0),
            "e-sales": System("e-sales", "E-销系统", 1, rto=3600.0, rpo=900.0),
            "website": System("website", "公司官网", 2, rto=7200.0, rpo=1800.0),
            "mail": System("mail", "邮件服务器", 3, rto=86400.0),
        },
        steps=steps,
        rollback=(_step("rollback-core", 60, action=RunAction(command="/opt/dr/demote.sh")),),
    )


def _run(b: JournalBuilder, step: str, start: float, end: float, status: str = "ok", **kw: Any) -> None:
    attempt = kw.pop("attempt", 1)
    b.add(
        "step.started",
        start,
        step=step,
        attempt=attempt,
        kind=kw.pop("kind", "run"),
        action={},
        rollback=False,
    )
    b.add(
        "step.finished",
        end,
        step=step,
        attempt=attempt,
        status=status,
        duration=round(end - start, 6),
        exit_code=kw.pop("exit_code", 0 if status == "ok" else 1),
        detail=kw.pop("detail", ""),
        log=f"logs/{step}.log",
        log_sha256=log_digest(step),
        started_t=start,
        final=kw.pop("final", True),
        rollback=False,
        **kw,
    )


def reference_events(*, finished: bool = True, dry_run: bool = False) -> list[dict[str, Any]]:
    """The reference drill's journal (see the module docstring for what it contains)."""
    b = JournalBuilder()
    b.add(
        "run.started",
        0.0,
        scenario="annual-2026",
        scenario_sha256=SCENARIO_SHA256,
        tool_version="0.1.0",
        host="drill-host",
        user="ops",
        argv=["drill", "run", "annual.yaml"],
        environment="staging",
        dry_run=dry_run,
        run_id="20260501T003000Z",
        vars={},
        inventory=None,
        parallel=8,
        snapshot=scenario_snapshot(reference_scenario()),
    )
    b.add("step.started", 1.0, step="declare", attempt=1, kind="manual", action={}, rollback=False)
    b.add(
        "manual.acknowledged",
        300.0,
        step="declare",
        by="张三",
        result="pass",
        note="领导小组已宣布",
        via="terminal",
    )
    b.add(
        "step.finished",
        300.0,
        step="declare",
        attempt=1,
        status="ok",
        duration=299.0,
        exit_code=None,
        detail="confirmed by 张三",
        log=None,
        log_sha256=None,
        started_t=1.0,
        final=True,
        rollback=False,
    )
    b.add("clock.declared", 300.0, step="declare", t0=300.0, t0_ts=b.ts(300.0))
    _run(b, "isolate", 300.0, 420.5)
    _run(
        b,
        "promote-core-db",
        420.5,
        480.0,
        "failed",
        detail="promote.sh: exit 1\nreplica lagging",
        final=False,
    )
    _run(b, "promote-core-db", 490.0, 600.0, attempt=2)
    _run(b, "core-rpo", 600.0, 605.0, detail="2026-05-01T08:20:00+08:00")
    b.add(
        "system.rpo", 605.0, system="core-individual", step="core-rpo", rpo=900.0, data_timestamp=b.ts(-600.0)
    )
    _run(b, "core-up", 605.0, 11100.0, kind="check", polls=12)
    b.add("system.recovered", 11100.0, system="core-individual", step="core-up", rto=10800.0)
    b.add("step.started", 11100.0, step="core-business", attempt=1, kind="manual", action={}, rollback=False)
    b.add(
        "manual.acknowledged",
        12000.0,
        step="core-business",
        by="李四",
        result="pass",
        note="契约 | 保全 OK",
        via="ack-file",
    )
    b.add(
        "step.finished",
        12000.0,
        step="core-business",
        attempt=1,
        status="ok",
        duration=900.0,
        exit_code=None,
        detail="",
        log=None,
        log_sha256=None,
        started_t=11100.0,
        final=True,
        rollback=False,
    )
    _run(b, "esales-up", 420.5, 5700.0)
    b.add("system.recovered", 5700.0, system="e-sales", step="esales-up", rto=5400.0)
    _run(b, "esales-rpo", 5700.0, 5710.0)
    b.add("system.rpo", 5710.0, system="e-sales", step="esales-rpo", rpo=1200.0, data_timestamp=b.ts(-900.0))
    _run(b, "website-up", 420.5, 3000.0)
    b.add("system.recovered", 3000.0, system="website", step="website-up", rto=2700.0)
    _run(b, "mail-up", 420.5, 1020.5, "timeout", exit_code=None, detail="no SMTP banner within 10m")
    b.add(
        "step.finished",
        12000.0,
        step="archive",
        attempt=0,
        status="skipped",
        duration=0.0,
        exit_code=None,
        detail="when: false",
        log=None,
        log_sha256=None,
        started_t=None,
        final=True,
        rollback=False,
    )
    b.add(
        "note",
        12100.0,
        kind="finding",
        text="邮件切换超时，需复核 DNS TTL",
        owner="tech",
        due="2026-06-30",
        by="王五",
        id="N1",
    )
    if finished:
        b.add("run.finished", 12200.0, status="failed", exit_code=1)
    return b.records


def live_snapshot() -> dict[str, Any]:
    """The scenario snapshot of `live_events`: a drill the web console tests watch while it runs."""

    def step(sid: str, kind: str, team: str, **kw: Any) -> dict[str, Any]:
        base = {"id": sid, "title": sid.upper(), "phase": kw.pop("phase", "切换"), "team": team, "kind": kind}
        base.update({"needs": [], "expect": None, "on_failure": "abort", "recovers": [], "declares": False})
        base.update(
            {"prompt": f"confirm {sid}" if kind == "manual" else None, "rollback": False, "systems": []}
        )
        base.update(kw)
        return base

    return {
        "name": "live",
        "title": "Live drill 实战演练",
        "timezone": "Asia/Shanghai",
        "teams": {
            "ops": {"title": "运营管理部"},
            "tech": {"title": "科技信息部"},
            "office": {"title": "办公室"},
        },
        "participants": [
            {"name": "张三", "team": "tech", "role": "演练总指挥 / drill commander"},
            {"name": "赵六", "team": "ops", "role": "business verifier"},
            {"name": "吴九", "team": "office", "role": "mail verifier"},
        ],
        "systems": {
            "core": {"title": "Core 核心", "tier": 1, "rto": 1800.0, "rpo": None},
            "mail": {"title": "Mail", "tier": 3, "rto": 3600.0, "rpo": None},
        },
        "steps": [
            step("declare", "manual", "ops", declares=True, phase="启动"),
            step("promote", "run", "tech", needs=["declare"], expect=600.0),
            step("core-up", "check", "tech", needs=["promote"], expect=1500.0, recovers=["core"]),
            step("verify", "manual", "ops", needs=["core-up"], expect=300.0),
            step(
                "mail-check", "manual", "office", needs=["declare"], recovers=["mail"], on_failure="continue"
            ),
        ],
        "rollback": [step("undo", "run", "tech", rollback=True)],
    }


def live_events(until: float = 120.0) -> list[dict[str, Any]]:
    """A running drill at t=`until`: declare confirmed (T0 = 60 s), promote running (expect 10 min),
    mail-check waiting for the office team; core is projected to breach its 30 min RTO
    (promote ends at 660 s, core-up takes 1500 s: RTO 2100 s)."""
    b = JournalBuilder()
    b.add(
        "run.started",
        0.0,
        scenario="live",
        run_id="live-run",
        run_dir="/runs/live",
        environment="lab",
        dry_run=False,
        snapshot=live_snapshot(),
    )
    b.add("step.started", 0.5, step="declare", attempt=1, kind="manual", action={}, rollback=False)
    b.add(
        "manual.acknowledged",
        60.0,
        step="declare",
        by="赵六",
        result="pass",
        note=None,
        via="console",
        role="business verifier",
        client="127.0.0.1",
    )
    b.add(
        "step.finished",
        60.0,
        step="declare",
        attempt=1,
        status="ok",
        duration=59.5,
        exit_code=None,
        detail="confirmed by 赵六",
        log=None,
        log_sha256=None,
        started_t=0.5,
        final=True,
        rollback=False,
    )
    b.add("clock.declared", 60.0, step="declare", t0=60.0, t0_ts=b.ts(60.0))
    b.add("step.started", 60.0, step="promote", attempt=1, kind="run", action={}, rollback=False)
    b.add("step.started", 60.0, step="mail-check", attempt=1, kind="manual", action={}, rollback=False)
    if until > 60.0:
        b.add("note", until, kind="observation", text="all teams in the room", by="张三", id="N1")
    return b.records
