"""What a notification says: one `Message` per drill event, and its text (en, zh) as Markdown or plain
text, alone or merged with others into a digest.

A digest is what a rate-limited robot gets when more messages are due than it may send: one request
listing them all, oldest first, each with its time (the scenario's time zone). Three or more failed
steps in one digest share one line ("37 steps failed: a, b, …"), so that a burst of failures fits in
the few requests a robot takes in a minute.
"""

from __future__ import annotations

from collections import Counter
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
    "failed_many": {"en": "{count} steps failed: {steps}", "zh": "{count} 个步骤失败：{steps}"},
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
_SEVERITY_ORDER: tuple[Severity, ...] = ("info", "warning", "critical")
GROUP_FROM = 3  # failed steps in one digest from which they share one line


@dataclass(frozen=True)
class DigestLine:
    """One line of a digest: a message, or several failed steps together."""

    time: str  # HH:MM:SS, or HH:MM:SS–HH:MM:SS for a group
    icon: str
    text: str
    link: str | None


def digest_lines(messages: Sequence[Message], lang: Lang, tz: str) -> list[DigestLine]:
    """The lines of a digest of `messages`: the failed steps together (at the first one's place) when
    there are `GROUP_FROM` or more of them, with the console's link without a step."""
    failed = [m for m in messages if m.kind == "failed" and m.step]
    if len(failed) < GROUP_FROM:
        return [DigestLine(local_time(m.ts, tz), _ICONS[m.severity], m.title, m.link) for m in messages]
    out: list[DigestLine] = []
    for m in messages:
        if m.kind == "failed" and m.step:
            if m is failed[0]:
                out.append(_failed_group(failed, lang, tz))
            continue
        out.append(DigestLine(local_time(m.ts, tz), _ICONS[m.severity], m.title, m.link))
    return out


def _failed_group(failed: Sequence[Message], lang: Lang, tz: str) -> DigestLine:
    worst = max((m.severity for m in failed), key=_SEVERITY_ORDER.index)
    steps = Counter(str(m.step) for m in failed)  # a step failing again (resume, retry) shows ×N
    named = ", ".join(step if n == 1 else f"{step} ×{n}" for step, n in steps.items())
    first, last = local_time(failed[0].ts, tz), local_time(failed[-1].ts, tz)
    link = next((m.link.split("#", 1)[0] for m in failed if m.link), None)
    text = phrase("failed_many", lang, count=len(failed), steps=named)
    return DigestLine(first if first == last else f"{first}–{last}", _ICONS[worst], text, link)


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
    for line in digest_lines(messages, lang, tz):
        link = f" [{phrase('console', lang)}]({line.link})" if line.link else ""
        parts.append(f"- {line.time} {line.icon}{_escape_md(line.text)}{link}")
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
    for line in digest_lines(messages, lang, tz):
        link = f" {line.link}" if line.link else ""
        lines.append(f"{line.time} {line.icon}{line.text}{link}")
    return title, "\n".join(lines)
