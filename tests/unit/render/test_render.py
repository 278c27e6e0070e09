"""Reports: Markdown golden files (en, zh), self-contained HTML, JUnit XML, JSON, write_reports.

Regenerate the golden files after an intended change with:
    BCDRILL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_render.py
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from journal_fixtures import JournalBuilder, reference_events, write_lines

from bcdrill.common.errors import UsageError
from bcdrill.render import render, write_reports

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_markdown_matches_golden(lang: str) -> None:
    text = render(reference_events(), "md", lang)
    golden = GOLDEN / f"report.{lang}.md"
    if os.environ.get("BCDRILL_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_markdown_escapes_table_cells() -> None:
    text = render(reference_events(), "md", "en")
    assert "验证新契约录入 \\| 保全<br>理赔" in text  # a title with | and a newline stays in its cell
    table_rows = [line for line in text.splitlines() if line.startswith("| 业务验证 ")]
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 10


def test_markdown_verdicts_in_chinese() -> None:
    text = render(reference_events(), "md", "zh")
    for word in ("未达标", "未恢复", "未测量", "达成", "无目标", "偏差", "人工确认"):
        assert word in text
    assert "BREACH" not in text


def test_dry_run_banner() -> None:
    assert "DRY RUN" in render(reference_events(dry_run=True), "md", "en")
    assert "DRY RUN" in render(reference_events(dry_run=True), "html", "en")
    assert "DRY RUN" not in render(reference_events(), "html", "en")
    junit = ET.fromstring(render(reference_events(dry_run=True), "junit", "en"))
    assert junit.attrib["name"].endswith("[DRY RUN]") and junit[0].attrib["name"].endswith("[DRY RUN]")
    assert "DRY RUN" not in render(reference_events(), "junit", "en")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_is_self_contained_and_cjk(lang: str) -> None:
    html = render(reference_events(), "html", lang)
    assert '<meta charset="utf-8">' in html
    assert "2026 年度 BCP 系统级实战演练" in html and "个险核心系统" in html
    assert "Noto Sans CJK SC" in html and "Microsoft YaHei" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    if lang == "zh":
        assert "演练报告" in html and "未达标" in html


def test_html_escapes_scenario_text() -> None:
    b = JournalBuilder()
    snap = {"title": "<script>alert(1)</script>", "systems": {}, "steps": [{"id": "s", "title": "a & <b>"}]}
    b.add("run.started", 0.0, scenario="x", run_id="r", snapshot=snap)
    html = render(b.records, "html", "en")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; &lt;b&gt;" in html


def test_junit_is_valid_and_counts() -> None:
    root = ET.fromstring(render(reference_events(), "junit", "zh").encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    names = [c.get("name") or "" for c in cases]
    assert len(cases) == 11 + 4 + 3  # steps + RTO targets + RPO targets
    assert int(suite.get("tests", "0")) == len(cases)
    assert suite.get("failures") == "4"  # e-sales RTO, mail RTO, e-sales RPO, website RPO
    assert suite.get("errors") == "1" and suite.get("skipped") == "1"
    assert any("个险核心系统" in n for n in names)
    mail = next(c for c in cases if c.get("name") == "mail-up: 邮件服务器切换")
    error = mail.find("error")
    assert error is not None and error.get("type") == "timeout"


def test_junit_strips_control_characters() -> None:
    events = reference_events()
    b = JournalBuilder()
    b.records = events[:-1]
    b.add(
        "step.finished",
        12100.0,
        step="isolate",
        attempt=2,
        status="failed",
        duration=1.0,
        detail="\x1b[31mred\x00",
    )
    ET.fromstring(render(b.records, "junit", "en").encode("utf-8"))


def test_json_report_has_summary_and_timeline() -> None:
    data = json.loads(render(reference_events(), "json", "en"))
    assert data["steps"]["timeout"] == 1
    assert [t["id"] for t in data["timeline"]][:2] == ["declare", "isolate"]
    assert data["timeline"][0]["acks"][0]["by"] == "张三"


def test_unknown_format_language_and_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCDRILL_CHROMIUM", "/nonexistent/chrome")
    with pytest.raises(
        UsageError, match=r"PDF needs Chromium: apt-get install chromium \(or set BCDRILL_CHROMIUM"
    ):
        render(reference_events(), "pdf", "en")
    with pytest.raises(UsageError, match="format"):
        render(reference_events(), "docx", "en")
    with pytest.raises(UsageError, match="language"):
        render(reference_events(), "md", "fr")


def test_write_reports(tmp_path: Path) -> None:
    write_lines(tmp_path / "journal.jsonl", reference_events())
    paths = write_reports(tmp_path, ["html", "md", "json", "junit"], lang="zh")
    assert sorted(p.name for p in paths) == ["junit.xml", "report.html", "report.md", "summary.json"]
    assert f"drill verify {tmp_path}" in (tmp_path / "report.md").read_text(encoding="utf-8")
    out = tmp_path / "out.md"
    assert write_reports(tmp_path, ["md"], output=out) == [out] and out.is_file()
    from bcdrill.record.journal import verify_journal

    assert verify_journal(tmp_path).ok  # summary.json's head is the run.finished line


def test_ten_thousand_steps_all_appear_in_the_reports() -> None:
    b = JournalBuilder()
    steps = [{"id": f"s{i}", "title": f"步骤 {i}", "phase": "切换", "systems": ["a"]} for i in range(10_000)]
    b.add("run.started", 0.0, scenario="big", run_id="r", snapshot={"systems": {}, "steps": steps})
    for i in range(10_000):
        b.add("step.started", i, step=f"s{i}", attempt=1)
        b.add("step.finished", i + 0.5, step=f"s{i}", attempt=1, status="ok", duration=0.5, detail="ok")
    b.add("run.finished", 10_001.0, status="complete", exit_code=0)
    for fmt in ("md", "html"):  # speed is measured by bench/bench_journal_report.py, not here
        text = render(b.records, fmt, "en")
        assert "s0" in text and "s9999" in text and "步骤 5000" in text


def _run_with_notify_failures(failures: bool) -> list[dict[str, object]]:
    b = JournalBuilder()
    steps = [{"id": "switch", "title": "切换", "phase": "切换", "systems": []}]
    b.add("run.started", 0.0, scenario="n", run_id="r", snapshot={"systems": {}, "steps": steps})
    b.add("step.started", 1.0, step="switch", attempt=1)
    if failures:
        b.add(
            "notify.failed", 1.5, channel="ops-room", platform="wecom", messages=1, kinds=["started"],
            status=500, error="HTTP 500",
        )  # fmt: skip
    b.add("step.finished", 2.0, step="switch", attempt=1, status="ok", duration=1.0, detail="exit code 0")
    b.add("run.finished", 3.0, status="complete", exit_code=0)
    if failures:  # after the end: not sent within the flush bound
        b.add(
            "notify.failed", 8.0, channel="soc", platform="webhook", messages=2, kinds=["ended", "failed"],
            status=None, error="not sent within 5s after the run ended", dropped=True,
        )  # fmt: skip
    return b.records


def test_notifications_not_delivered_are_low_deviations_in_every_report() -> None:
    clean = render(_run_with_notify_failures(False), "md", "en")
    assert "delivered (chat robot" not in clean and "OBJECTIVES MET WITH DEVIATIONS" not in clean
    events = _run_with_notify_failures(True)
    md = render(events, "md", "en")
    rows = [line for line in md.splitlines() if "notifications not delivered (chat robot or webhook)" in line]
    assert len(rows) == 2, md
    assert "low" in rows[0] and "channel: ops-room" in rows[0] and "status: 500" in rows[0]
    assert "channel: soc" in rows[1] and "dropped: True" in rows[1] and "kinds: ended failed" in rows[1]
    assert "OBJECTIVES MET WITH DEVIATIONS" in md
    assert "通知未送达（群机器人或 Webhook）" in render(events, "md", "zh")
    assert "notifications not delivered" in str(render(events, "html", "en"))
    history = json.loads(render(events, "json", "en"))["history"]
    assert [(h["kind"], h["channel"]) for h in history] == [("notify", "ops-room"), ("notify", "soc")]
