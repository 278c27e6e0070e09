"""The audit-grade report: the 11 checklist sections with real content, the Gantt chart of big
runs, corrective actions and trends across drills (--previous), the evidence bundle, signatures."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from journal_fixtures import (
    SCENARIO_SHA256,
    SCENARIO_TEXT,
    JournalBuilder,
    log_digest,
    reference_events,
    write_lines,
)

from bcdrill.common.errors import RunDirError
from bcdrill.record.journal import read_journal
from bcdrill.render import render, write_reports
from bcdrill.render.gantt import MAX_STEP_ROWS, ROW_H, ROWS_PER_CHART
from bcdrill.run.notes import add_note


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
        "identity": ["20260501T003000Z", "live (full-scale)", "planned", "staging", "0.1.0", SCENARIO_SHA256],
        "scope": ["个险核心系统", "邮件服务器", "Production site", "Exclusions", "归档"],
        "objectives": ["4h 00m 00s", "30m 00s", "core-up", "core-rpo", "BCP 领导小组宣布启动灾备切换"],
        "organisation": ["运营管理部", "科技信息部", "张三", "drill commander"],
        "timeline": ["Asia/Shanghai (UTC+08:00)", "隔离生产与灾备网络", "08:35:00", "李四"],
        "results": ["3h 00m 00s", "BREACH", "not achieved", "unmeasured", "How RPO was measured", "契约"],
        "deviations": ["high", "medium", "low", "mail-up", "retried", "replica lagging", "Severity rule"],
        "evaluation": ["OBJECTIVES NOT MET", "核心系统达标；邮件需整改。", "郑十"],
        "actions": ["A-1", "复核邮件 DNS TTL", "2026-06-30", "open", "A-2", "closed", "F-1", "已更新"],
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
    attempts = sum(1 for e in reference_events() if e["event"] == "step.started")
    assert attempts == 11 and html.count('class="bar actual') == attempts  # one bar per attempt: gaps show
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
    assert all(int(h) <= 40 + ROWS_PER_CHART * ROW_H for h in charts)  # each fits an A4 page
    assert 40 + ROWS_PER_CHART * ROW_H <= 1400  # 1000 wide on A4 (188 x 269 mm printable)
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
    (path / "scenario.yaml").write_text(SCENARIO_TEXT, encoding="utf-8")
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
    assert "RTO 1h 30m 00s" in trend and "RTO 30m 00s" in trend  # e-sales: last year, this year
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


def _auto_acked() -> list[dict[str, Any]]:
    events = reference_events()
    for ev in events:
        if ev["event"] == "manual.acknowledged":
            ev.update(by="auto", via="auto", note=None)
    return events


def test_auto_acknowledged_confirmations_are_flagged() -> None:
    for lang, banner, counts, suffix in (
        (
            "en",
            "2 manual confirmation(s) were given automatically",
            "by people 0 / automatic 2",
            "business verification not evidenced (auto-acknowledged)",
        ),
        ("zh", "有 2 项人工确认为自动确认", "人工 0 项 / 自动 2 项", "业务验证无证据（自动确认）"),
    ):
        html = str(render(_auto_acked(), "html", lang))
        sec = _sections(html)
        header = html.split('<section id="identity">')[0]
        assert banner in header and suffix in header
        assert counts in sec["identity"] and suffix in sec["evaluation"]
        md = str(render(_auto_acked(), "md", lang))
        assert banner in md.split("##")[0] and counts in md and md.count(suffix) == 2
    plain = str(render(reference_events(), "html", "en"))
    assert "automatically" not in plain and "by people 2 / automatic 0" in plain
    assert "not evidenced" not in plain


def test_signoffs_cover_every_verifying_department_and_the_declarer() -> None:
    events = reference_events()
    snap = events[0]["snapshot"]
    snap["teams"]["office"] = {"id": "office", "title": "办公室"}
    snap["participants"] = [
        {"name": "王总", "team": "ops", "role": "BCP 领导小组组长 / BCP leadership (declares)"},
        {"name": "张三", "team": "tech", "role": "演练总指挥 / drill commander"},
        {"name": "李四", "team": "tech", "role": "灾备支持组 / DR support team lead"},
        {"name": "赵六", "team": "ops", "role": "个险业务验证 / individual business verifier"},
        {"name": "吴九", "team": "office", "role": "邮件与官网验证 / mail and website verifier"},
        {"name": "钱一", "team": "ops", "role": "coordinator"},  # ops owns manual steps
        {"name": "郑十", "team": "ops", "role": "评估员 / evaluator"},
    ]
    sec = _sections(str(render(events, "html", "en")))["signoffs"]
    assert "吴九" in sec and "王总" in sec
    md = str(render(events, "md", "en")).split("## 10. Sign-offs")[1].split("## 11.")[0]
    business = [line.split(" | ")[1] for line in md.splitlines() if line.startswith("| Business owner")]
    assert business == ["王总", "赵六", "吴九", "钱一"]  # the declarer first, then scenario order
    assert "| Drill commander (演练总指挥 / drill commander) | 张三 |" in md
    assert "| Evaluator (评估员 / evaluator) | 郑十 |" in md
    assert "| IT head | " in md and "| Risk and compliance | " in md  # blank lines kept
    assert "李四" not in md  # DR support is neither a verifier nor a manual-step team


def test_target_deviations_say_achieved_target_and_step() -> None:
    md = str(render(reference_events(), "md", "en"))
    rows = {line.split(" | ")[1]: line for line in md.splitlines() if line.startswith("| **")}
    esales = rows["E-销系统 (`e-sales`)"]
    assert "RTO achieved / target: 1h 30m 00s / 1h 00m 00s (over by 30m 00s)" in esales
    assert "Recovered by: E-销系统切换 [esales-up]" in esales
    assert "RPO achieved / target: 20m 00s / 15m 00s" in esales and "esales-rpo — ok" in esales
    mail = rows["邮件服务器 (`mail`)"]
    assert (
        "not recovered" in mail and "邮件服务器切换 [mail-up] — timed out: no SMTP banner within 10m" in mail
    )
    assert "No step of the scenario measures" in rows["公司官网 (`website`)"]
    zh = str(render(reference_events(), "md", "zh"))
    assert "RTO 实际 / 目标: 1h 30m 00s / 1h 00m 00s" in zh


def test_gantt_axis_covers_the_actual_span_not_the_plan() -> None:
    events = _big(3)  # 3 steps of 8 s, run over at 30 s
    events[0]["snapshot"]["steps"][0]["expect"] = 1800.0  # a 30 min manual step
    svg = str(render(events, "html", "en")).split('class="gantt"')[1].split("</svg>")[0]
    actual = [
        float(w)
        for w in re.findall(r'class="bar actual [a-z_]+" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)
    ]
    assert len(actual) == 3 and min(actual) > 100  # 8 s of a ~23 s axis, not a sliver of 30 min
    assert "▸" in svg  # the 30 min plan is cut at the axis end
    ticks = re.findall(r'class="tick"[^>]*>([^<]+)<', svg)
    assert ticks and all(t.count(":") == 2 for t in ticks)  # second ticks, not half-hours


def test_gantt_labels_wrap_instead_of_cutting() -> None:
    from bcdrill.render.gantt import wrap

    title = "演练前检查：两中心实例在线、复制正常 / Pre-check both sites and replication"
    assert wrap(title) == ("演练前检查：两中心实例在线、复制正常 /", "Pre-check both sites and replication")
    assert wrap("short") == ("short", "")
    first, second = wrap("x" * 200)
    assert len(first) == 62 and second.endswith("…")
    events = reference_events()
    events[0]["snapshot"]["steps"][1]["title"] = title
    html = str(render(events, "html", "en"))
    assert "Pre-check both sites and replication</tspan>" in html


def test_timeline_table_groups_phases_in_scenario_order() -> None:
    html = str(render(reference_events(), "html", "en"))
    table = html.split('class="grid steps"')[1].split("</table>")[0]
    phases = re.findall(r'<tr class="phase"><td colspan="8">([^<]+)</td>', table)
    assert phases == ["启动", "切换", "验证", "业务验证", "收尾"]  # each once, scenario order
    assert "Rows are grouped by phase" in html


def test_zh_cells_do_not_break_inside_words_and_digests_are_short() -> None:
    html = str(render(reference_events(), "html", "zh"))
    css = html.split("<style>")[1].split("</style>")[0]
    assert re.search(r"td\.verdict[^{]*\.sev[^{]*\{[^}]*white-space: nowrap", css)
    assert re.search(r"thead th \{[^}]*word-break: keep-all", css)
    digest = log_digest("isolate")
    assert f'<code class="digest" title="SHA-256 {digest}">{digest[:12]}</code>' in html
    assert f'<code class="hash">{digest}</code>' in html  # the annex keeps the full digest
    assert re.search(r"code\.hash \{[^}]*monospace[^}]*word-break: break-all", css)
    assert not re.search(r"code\.ev \{[^}]*break-all", css)  # log paths do not break mid-word


def test_html_layout_wraps_toc_and_scrolls_wide_tables() -> None:
    html = str(render(reference_events(), "html", "en"))
    toc = html.split('<nav class="toc">')[1].split("</nav>")[0]
    assert "</a> <a" in toc  # a break opportunity between the entries
    assert html.count('<div class="tw"><table class="grid') == html.count('<table class="grid')


def test_notes_without_author_and_closing_notes() -> None:
    b = JournalBuilder()
    b.records = reference_events()
    b.add("note", 12300.0, kind="action", text="复核 DNS TTL", owner="tech", due="2026-06-30", id="a1")
    b.add("note", 12310.0, kind="evaluation", text="达标", id="a2")  # no --by
    b.add("note", 12320.0, kind="observation", text="切换指令需更清楚", id="a3")
    b.add("note", 12330.0, kind="observation", text="TTL 已改为 60s", by="王五", closes="A-1", id="a4")
    for lang in ("en", "zh"):
        html = str(render(b.records, "html", lang))
        md = str(render(b.records, "md", lang))
        assert "— ," not in html and "— ," not in md
        sec = _sections(html)
        assert "TTL 已改为 60s" not in sec["evaluation"] and "切换指令需更清楚" in sec["evaluation"]
        assert "TTL 已改为 60s" in sec["actions"] and "王五" in sec["actions"]
        hotwash = md.split("### ")[
            md.split("### ").index(next(p for p in md.split("### ") if p.startswith(("Hotwash", "复盘"))))
        ]
        assert "TTL 已改为 60s" not in hotwash
