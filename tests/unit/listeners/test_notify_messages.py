"""How a digest reads: failed steps share a line from three of them on, nothing is left out."""

from __future__ import annotations

from typing import Any

from bcdrill.listeners.notify.messages import Message, digest_lines, markdown, plain_text

LINK = "https://drill-room.example:8470/"


def failed(step: str, second: int, severity: Any = "warning") -> Message:
    ts = f"2026-12-05T02:00:{second:02d}Z"
    return Message(
        "failed", f"Step failed: {step}", ts, link=f"{LINK}#step={step}", step=step, severity=severity
    )


def test_two_failures_keep_their_own_lines_and_links() -> None:
    lines = digest_lines([failed("a", 1), failed("b", 2)], "en", "Asia/Shanghai")
    assert [(x.time, x.text, x.link) for x in lines] == [
        ("10:00:01", "Step failed: a", f"{LINK}#step=a"),
        ("10:00:02", "Step failed: b", f"{LINK}#step=b"),
    ]


def test_three_failures_share_one_line_at_the_first_ones_place() -> None:
    ended = Message("ended", "Drill ended: t — ABORTED", "2026-12-05T02:00:09Z", severity="critical")
    started = Message("started", "Drill started: t", "2026-12-05T02:00:00Z")
    messages = [started, failed("a", 1), failed("b", 2, "critical"), failed("a", 3), failed("c", 4), ended]
    lines = digest_lines(messages, "en", "UTC")
    assert [x.text for x in lines] == [
        "Drill started: t",
        "4 steps failed: a ×2, b, c",
        "Drill ended: t — ABORTED",
    ]
    group = lines[1]
    assert (group.time, group.icon, group.link) == ("02:00:01–02:00:04", "❗ ", LINK)
    _, text = markdown(messages, "zh", "UTC", "演练")
    assert "4 个步骤失败：a ×2, b, c" in text and text.startswith("**演练动态汇总（6 条）**")
    _, plain = plain_text(messages, "en", "UTC", "drill")
    assert f"02:00:01–02:00:04 ❗ 4 steps failed: a ×2, b, c {LINK}" in plain
