"""What a notification says: one `Message` per drill event, and its text (en, zh) as Markdown or plain
text, alone or merged with others into a digest.

A digest is what a rate-limited robot gets when more messages are due than it may send: one request
listing them all, newest last, each with its time (the scenario's time zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bcdrill.common.timestamps import parse_ts
from bcdrill.scenario.model import NotifyEvent

Severity = Literal["info", "warning", "critical"]
Lang = Literal["en", "zh"]

_TEXTS: dict[str, dict[str, str]] = {
    "started": {"en": "Drill started: {title}", "zh": "演练开始：{title}"},
    "resumed": {"en": "Drill resumed: {title}", "zh": "演练继续：{title}"},
    "ended": {"en": "Drill ended: {title} — {verdict}", "zh": "演练结束：{title} — {verdict}"},
    "waiting": {"en": "Waiting for {team}: {step}", "zh": "等待{team}确认：{step}"},
    "failed": {"en": "Step {status}: {step}", "zh": "步骤{status}：{step}"},
    "rto_predicted": {
        "en": "RTO breach predicted: {system} — projected {projected} > target {target}",
        "zh": "预计超出RTO：{system} — 预计 {projected}，目标 {target}",
    },
    "rto_unreachable": {
        "en": "RTO breach predicted: {system} cannot recover (step {step} did not succeed), target {target}",
        "zh": "预计超出RTO：{system} 无法恢复（步骤 {step} 未成功），目标 {target}",
    },
    "rto_breached": {
        "en": "RTO breached: {system} — {elapsed} since T0 > target {target}",
        "zh": "RTO已超时：{system} — 自T0起已 {elapsed}，目标 {target}",
    },
    "rto_missed": {
        "en": "RTO target missed: {system} recovered after {elapsed} > target {target}",
        "zh": "RTO未达标：{system} 恢复用时 {elapsed}，目标 {target}",
    },
    "digest": {"en": "{count} drill updates (digest)", "zh": "演练动态汇总（{count} 条）"},
    "open": {"en": "Open in the drill console", "zh": "在演练控制台中打开"},
    "console": {"en": "console", "zh": "控制台"},
}

VERDICTS: dict[str, dict[str, str]] = {
    "met": {"en": "every step succeeded and every target was met", "zh": "全部步骤成功，全部目标达成"},
    "missed": {
        "en": "complete, but a step failed or a target was missed",
        "zh": "已完成，但有步骤失败或目标未达成",
    },
    "aborted": {"en": "ABORTED (can be resumed)", "zh": "已中止（可继续）"},
    "interrupted": {"en": "INTERRUPTED (can be resumed)", "zh": "已中断（可继续）"},
}

STATUS_WORDS: dict[str, dict[str, str]] = {
    "failed": {"en": "failed", "zh": "失败"},
    "timeout": {"en": "timed out", "zh": "超时"},
}


def phrase(key: str, lang: Lang, **values: object) -> str:
    return _TEXTS[key][lang].format(**values)


@dataclass(frozen=True)
class Message:
    """One notification: `title` is its first line, `lines` the details, all in the drill's language."""

    kind: NotifyEvent
    title: str
    ts: str  # the journal time (UTC) of the record that caused it
    lines: tuple[str, ...] = ()
    link: str | None = None
    team: str | None = None  # for `waiting` and `failed`: the step's team
    step: str | None = None
    system: str | None = None
    severity: Severity = "info"
    data: dict[str, object] = field(default_factory=dict)  # machine-readable facts (webhook JSON)


_ICONS = {"info": "", "warning": "⚠ ", "critical": "❗ "}


def local_time(ts: str, tz: str) -> str:
    """HH:MM:SS of a journal timestamp in the drill's time zone (the UTC text when it cannot be read)."""
    try:
        moment: datetime = parse_ts(ts)
        return moment.astimezone(ZoneInfo(tz)).strftime("%H:%M:%S")
    except (ValueError, KeyError, OSError):
        return ts[11:19] if len(ts) >= 19 else ts


def _escape_md(text: str) -> str:
    return text.replace("\n", " ").replace("[", "(").replace("]", ")")


def markdown(messages: Sequence[Message], lang: Lang, tz: str, drill: str) -> tuple[str, str]:
    """(title, Markdown text) of one message or of a digest of several."""
    if len(messages) == 1:
        msg = messages[0]
        parts = [f"**{_ICONS[msg.severity]}{_escape_md(msg.title)}**", f"{drill} · {local_time(msg.ts, tz)}"]
        parts += [f"> {_escape_md(line)}" for line in msg.lines]
        if msg.link:
            parts.append(f"[{phrase('open', lang)}]({msg.link})")
        return msg.title, "\n\n".join(parts)
    title = phrase("digest", lang, count=len(messages))
    parts = [f"**{title}**", drill]
    for msg in messages:
        link = f" [{phrase('console', lang)}]({msg.link})" if msg.link else ""
        parts.append(f"- {local_time(msg.ts, tz)} {_ICONS[msg.severity]}{_escape_md(msg.title)}{link}")
    return title, "\n".join(parts[:2]) + "\n\n" + "\n".join(parts[2:])


def plain_text(messages: Sequence[Message], lang: Lang, tz: str, drill: str) -> tuple[str, str]:
    """(title, plain text) of one message or of a digest of several."""
    if len(messages) == 1:
        msg = messages[0]
        lines = [f"{_ICONS[msg.severity]}{msg.title}", f"{drill} · {local_time(msg.ts, tz)}", *msg.lines]
        if msg.link:
            lines.append(f"{phrase('open', lang)}: {msg.link}")
        return msg.title, "\n".join(lines)
    title = phrase("digest", lang, count=len(messages))
    lines = [title, drill]
    for msg in messages:
        link = f" {msg.link}" if msg.link else ""
        lines.append(f"{local_time(msg.ts, tz)} {_ICONS[msg.severity]}{msg.title}{link}")
    return title, "\n".join(lines)
