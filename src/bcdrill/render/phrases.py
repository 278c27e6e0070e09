"""Chinese for the details bcdrill itself writes (the journal keeps them in English).

Only bcdrill's own wording is translated, by its leading pattern; whatever follows — a command's
output, a URL, a person's name, a message from Ansible or a server — is shown as written. Text
that matches no pattern is shown unchanged.
"""

from __future__ import annotations

import re

_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.S), replacement)
    for pattern, replacement in (
        (r"^exit code (-?\d+)$", r"退出码 \1"),
        (r"^exit code (-?\d+): (.*)$", r"退出码 \1：\2"),
        (r"^exit code (-?\d+) on (.*)$", r"在 \2 上退出码 \1"),
        (r"^confirmed by (.+)$", r"由 \1 确认通过"),
        (r"^reported failed by ([^:]+): (.*)$", r"由 \1 报告未通过：\2"),
        (r"^reported failed by (.+)$", r"由 \1 报告未通过"),
        (r"^expectations met$", "检查通过"),
        (r"^timed out; process group killed$", "超时；已终止整个进程组"),
        (r"^check command timed out; process group killed$", "检查命令超时；已终止整个进程组"),
        (r"^cancelled; process group killed$", "已取消；已终止整个进程组"),
        (r"^cancelled while waiting for confirmation$", "等待确认时被取消"),
        (r"^no confirmation before the step's timeout$", "步骤超时前未获确认"),
        (r"^not started: drill aborted$", "未开始：演练已中止"),
        (r"^needs (\S+) which failed$", r"所依赖的步骤 \1 未成功"),
        (r"^needs (\S+) which was skipped$", r"所依赖的步骤 \1 被跳过"),
        (r"^needs (\S+) which ended (\S+)$", r"所依赖的步骤 \1 以 \2 结束"),
        (r"^condition is false$", "条件不成立，跳过"),
        (r"^dry run: not executed: (.*)$", r"预演：未执行：\1"),
        (r"^waited: (.*)$", r"已等待：\1"),
        (r"^HTTP (\d+) from (\S+)$", r"\2 返回 HTTP \1"),
        (r"^TCP (\S+) accepts connections$", r"TCP \1 可连接"),
        (r"^playbook ok on (\d+) hosts? \((\d+) changed\)$", r"剧本在 \1 台主机上成功（\2 项变更）"),
        (r"^not ok after (\d+) polls in ([^:]+): (.*)$", r"轮询 \1 次（\2）仍未通过：\3"),
        (r"^step timeout after (\d+) polls: (.*)$", r"轮询 \1 次后步骤超时：\2"),
        (r"^marked done by (.+)$", r"由 \1 标记为完成"),
        (r"^in flight when the run stopped.*$", "运行停止时该步骤正在执行（运行程序被终止或崩溃）"),
    )
)


def localize(text: str | None, lang: str) -> str:
    """`text` in `lang`, line by line, where a line is one of bcdrill's own phrases."""
    if not text or lang != "zh":
        return text or ""
    return "\n".join(_line(line) for line in text.split("\n"))


def _line(text: str) -> str:
    for pattern, replacement in _ZH:
        if pattern.match(text):
            return pattern.sub(replacement, text, count=1)
    return text
