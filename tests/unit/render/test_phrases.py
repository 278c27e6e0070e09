"""The Chinese report translates bcdrill's own wording of step details, and nothing else."""

from __future__ import annotations

import pytest

from bcdrill.render.phrases import localize


@pytest.mark.parametrize(
    ("text", "zh"),
    [
        ("exit code 0", "退出码 0"),
        ("exit code 3: disk full", "退出码 3：disk full"),
        ("confirmed by 赵六", "由 赵六 确认通过"),
        ("reported failed by 孙七: 保全功能报错", "由 孙七 报告未通过：保全功能报错"),
        ("needs promote which failed", "所依赖的步骤 promote 未成功"),
        ("not started: drill aborted", "未开始：演练已中止"),
        ("playbook ok on 1 host (2 changed)", "剧本在 1 台主机上成功（2 项变更）"),
        (
            "not ok after 20 polls in 20.0s: HTTP 503 from http://x/health",
            "轮询 20 次（20.0s）仍未通过：HTTP 503 from http://x/health",
        ),
        ("HTTP 200 from http://127.0.0.1:17016/health", "http://127.0.0.1:17016/health 返回 HTTP 200"),
        ("retried 2 times\nexit code 0", "retried 2 times\n退出码 0"),
        ("replica lagging 40s", "replica lagging 40s"),  # a message of the system under test: as written
    ],
)
def test_bcdrill_phrases_in_chinese(text: str, zh: str) -> None:
    assert localize(text, "zh") == zh


def test_english_and_empty_are_unchanged() -> None:
    assert localize("exit code 0", "en") == "exit code 0"
    assert localize(None, "zh") == "" and localize("", "zh") == ""
