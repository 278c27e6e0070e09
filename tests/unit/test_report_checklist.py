"""The audit-grade report: the 11 checklist sections with real content, the Gantt chart of big
runs, corrective actions and trends across drills (--previous), the evidence bundle, signatures."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from journal_fixtures import JournalBuilder, log_digest, reference_events, write_lines

from bcdrill.acks import add_note
from bcdrill.errors import RunDirError
from bcdrill.journal import read_journal
from bcdrill.render import render, write_reports
from bcdrill.render.gantt import MAX_STEP_ROWS, ROWS_PER_CHART


def _with_notes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    b = JournalBuilder()
    b.records = list(records)
    b.add(
        "note",
        12300.0,
        kind="action",
        text="复核邮件 DNS TTL",
        owner="tech",
        due="2026-06-30",
        by="王五",
        id="x1",
    )
    b.add(
        "note", 12310.0, kind="action", text="更新通讯录", owner="ops", due="2026-04-01", by="王五", id="x2"
    )
    b.add("note", 12320.0, kind="evaluation", text="核心系统达标；邮件需整改。", by="郑十", id="x3")
    b.add("note", 12330.0, kind="observation", text="已更新", by="王五", id="x4", closes="A-2")
    return b.records


def _sections(html: str) -> dict[str, str]:
    found = re.findall(r'<section id="([a-z]+)">(.*?)</section>', html, flags=re.S)
    return {name: re.sub(r"<[^>]+>", " ", body) for name, body in found}


def test_html_has_the_eleven_sections_with_real_content() -> None:
    sec = _sections(str(render(_with_notes(reference_events()), "html", "en", run_dir="/runs/r1")))
    expected = {
        "identity": ["20260501T003000Z", "live (full-scale)", "planned", "staging", "0.1.0", "ab" * 32],
        "scope": ["个险核心系统", "邮件服务器", "Production site", "Exclusions", "归档"],
        "objectives": ["4h 00m 00s", "30m 00.0s", "core-up", "core-rpo", "BCP 领导小组宣布启动灾备切换"],
        "organisation": ["运营管理部", "科技信息部", "张三", "drill commander"],
        "timeline": ["Asia/Shanghai (UTC+08:00)", "隔离生产与灾备网络", "08:35:00", "李四"],
        "results": ["3h 00m 00s", "BREACH", "not achieved", "unmeasured", "How RPO was measured", "契约"],
        "deviations": ["high", "medium", "low", "mail-up", "retried", "replica lagging", "Severity rule"],
        "evaluation": ["OBJECTIVES NOT MET", "核心系统达标；邮件需整改。", "郑十", "已更新"],
        "actions": ["A-1", "复核邮件 DNS TTL", "2026-06-30", "open", "A-2", "closed", "F-1"],
        "signoffs": ["Drill commander", "张三", "IT head", "Risk and compliance", "Evaluator", "Signature"],
        "annex": [
            "drill verify /runs/r1",
            "intact",
            "logs/isolate.log",
            log_digest("isolate"),
            "sha256sum -c SHA256SUMS",
        ],
    }
    assert list(sec) == list(expected)
    for name, needles in expected.items():
        for needle in needles:
            assert needle in sec[name], f"section {name} lacks {needle!r}"


def test_html_timeline_has_the_chart_and_zh_labels() -> None:
    html = str(render(reference_events(), "html", "zh"))
    assert html.count('class="bar actual') == 10  # every step that ran
    assert "T0</text>" in html and "演练时间线" in html and "签字确认" in html and "整改措施" in html
    assert "Severity" not in html and "Drill commander" not in html  # every label translated
    md = str(render(reference_events(), "md", "zh"))
    assert "<svg" not in md and "十一、附件与完整性" in md


def test_planned_and_unannounced() -> None:
    events = reference_events()
    events[0]["snapshot"]["planned"] = False
    assert "unannounced" in str(render(events, "md", "en"))
    assert "突击演练" in str(render(events, "md", "zh"))


def _big(steps: int) -> list[dict[str, Any]]:
    b = JournalBuilder()
    specs = [
        {
            "id": f"s{i}",
            "title": f"步骤 {i} / step {i}",
            "phase": f"阶段 {i // 50}",
            "expect": 20.0,
            "on_failure": "continue",
        }
        for i in range(steps)
    ]
    b.add("run.started", 0.0, scenario="big", run_id="r", snapshot={"systems": {}, "steps": specs})
    for i in range(steps):
        status = "failed" if i % 37 == 0 else "ok"
        b.add("step.started", i * 10.0, step=f"s{i}", attempt=1)
        b.add("step.finished", i * 10 + 8.0, step=f"s{i}", attempt=1, status=status, duration=8.0)
    b.add("run.finished", steps * 10.0, status="failed", exit_code=1)
    return b.records


def test_three_hundred_steps_make_a_readable_gantt() -> None:
    html = str(render(_big(300), "html", "en"))
    charts = re.findall(r'<svg [^>]*class="gantt"[^>]*height="(\d+)"', html)
    rows = 300 + 6  # steps and phase headers
    assert len(charts) == -(-rows // ROWS_PER_CHART)  # cut into page-sized charts
    assert all(int(h) <= 40 + ROWS_PER_CHART * 20 for h in charts)  # each fits an A4 page
    assert html.count('class="bar actual') == 300 and html.count('class="bar planned"') == 300
    assert html.count('class="fail"') == len([i for i in range(300) if i % 37 == 0])
    assert "步骤 299 / step 299" in html


def test_huge_runs_are_drawn_per_phase() -> None:
    html = str(render(_big(MAX_STEP_ROWS + 50), "html", "en"))
    assert html.count('class="bar actual') == -(-(MAX_STEP_ROWS + 50) // 50)
    assert "one bar per phase" in html


def test_late_step_is_a_low_deviation() -> None:
    events = _big(3)
    events[0]["snapshot"]["steps"][1]["expect"] = 2.0  # took 8 s: not late (less than 10 s over)
    events[0]["snapshot"]["steps"][2]["expect"] = 0.5
    b = JournalBuilder()
    b.records = events[:-1]
    b.add("step.started", 40.0, step="s2", attempt=1)
    b.add("step.finished", 60.0, step="s2", attempt=1, status="ok", duration=20.0)
    md = str(render(b.records, "md", "en"))
    assert "| **low** | 步骤 2 / step 2 (`s2`) | retried, late (expected 500ms)" in md
    assert "(`s1`) | late" not in md


def _run_dir(path: Path, events: list[dict[str, Any]]) -> Path:
    path.mkdir(parents=True)
    (path / "logs").mkdir()
    for ev in events:
        if ev.get("event") == "step.finished" and ev.get("log"):
            (path / ev["log"]).write_text(f"output of {ev['step']}\n", encoding="utf-8")
    write_lines(path / "journal.jsonl", events)
    (path / "scenario.yaml").write_text("version: 1\n", encoding="utf-8")
    write_reports(path)
    return path


def test_previous_drill_actions_and_trend(tmp_path: Path) -> None:
    old = _run_dir(tmp_path / "old", _with_notes(reference_events()))
    b = JournalBuilder(start=datetime(2027, 5, 1, tzinfo=timezone.utc))
    new_events = reference_events()
    for record in new_events:  # the same drill a year later, with a new run id
        payload = {k: v for k, v in record.items() if k not in ("seq", "ts", "t", "event", "prev", "hash")}
        if record["event"] == "run.started":
            payload["run_id"] = "20270501T003000Z"
        if record["event"] == "system.recovered" and record["system"] == "e-sales":
            payload["rto"] = 1800.0
        b.add(record["event"], record["t"], **payload)
    b.add("note", 12400.0, kind="observation", text="TTL 已复核", closes="20260501T003000Z:A-1", id="y1")
    new = _run_dir(tmp_path / "new", b.records)
    write_reports(new, ["md"], previous=[old])
    md = (new / "report.md").read_text(encoding="utf-8")
    assert "Corrective actions of previous drills" in md and "`20260501T003000Z`" in md
    assert "| A-1 | 复核邮件 DNS TTL | tech | 2026-06-30 | closed | TTL 已复核 |" in md
    assert "| A-2 | 更新通讯录 | ops | 2026-04-01 | closed | 已更新 |" in md
    assert "RTO / RPO trend per system" in md
    trend = md.split("RTO / RPO trend per system")[1]
    assert "RTO 1h 30m 00s" in trend and "RTO 30m 00.0s" in trend  # e-sales: last year, this year
    with pytest.raises(RunDirError, match="--previous"):
        write_reports(new, ["md"], previous=[tmp_path / "nowhere"])


def test_open_action_becomes_overdue_at_the_next_drill(tmp_path: Path) -> None:
    old = _run_dir(tmp_path / "old", _with_notes(reference_events())[:-1])  # A-2 not closed
    b = JournalBuilder(start=datetime(2026, 9, 1, tzinfo=timezone.utc))
    b.add("run.started", 0.0, scenario="s", run_id="sept", snapshot={"systems": {}, "steps": []})
    b.add("run.finished", 1.0, status="complete", exit_code=0)
    new = _run_dir(tmp_path / "new", b.records)
    md = str(render(b.records, "md", "zh", previous=[read_journal(old / "journal.jsonl")]))
    assert "| A-1 | 复核邮件 DNS TTL | tech | 2026-06-30 | 已逾期 |" in md
    assert new.is_dir()


def test_note_closes_an_action(tmp_path: Path) -> None:
    run = _run_dir(tmp_path / "r", reference_events())
    add_note(run, kind="action", text="fix TTL", owner="tech", due="2026-06-30", by="王五")
    add_note(run, kind="observation", text="done", closes="A-1", by="王五")
    events = read_journal(run / "journal.jsonl")
    assert events[-1]["closes"] == "A-1"
    assert "| A-1 | fix TTL | tech | 2026-06-30 | closed | done |" in str(render(events, "md", "en"))
