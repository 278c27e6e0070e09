"""The scenario's `notify:` section: what the loader refuses, where, and what it keeps secret."""

# ruff: noqa: E501 - expected messages are compared verbatim
from __future__ import annotations

from pathlib import Path

import pytest

from bcdrill.cli.main import main
from bcdrill.common.errors import ScenarioError
from bcdrill.scenario.loader import load_scenario

FIXTURES = Path(__file__).parent / "fixtures" / "notify"
SECRETS = {"wecom_key": "wk-Secret'1", "dingtalk_token": 'dt-Secret"2', "feishu_secret": "fs-Secret-3"}


def problems_of(name: str, cli_vars: dict[str, str]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(name, cli_vars=cli_vars)
    return [str(p) for p in info.value.problems]


def test_problems_are_reported_where_they_are_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    assert problems_of("problems.yaml", SECRETS) == [
        "problems.yaml:7:16: notify.console_url: expected an http:// or https:// URL, got 'drill-room:8470' — write the full URL",
        "problems.yaml:11:15: notify.channels.ops-room.teams: unknown team 'opz' — did you mean 'ops'?",
        "problems.yaml:15:25: notify.channels.lark.feishu.webhook: expected an http:// or https:// URL, got 'ftp://open.feishu.cn/hook/x' — write the full URL",
        "problems.yaml:17:7: notify.channels.teams-bot: unknown platform 'msteams' — use one of: wecom, dingtalk, feishu, webhook",
        "problems.yaml:20:25: notify.channels.soc.events: unknown event 'finished' — expected some of: started, ended, waiting, failed, rto_predicted, rto_breached",
    ]


def test_a_missing_secret_is_named_and_no_secret_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    problems = problems_of("problems.yaml", {k: v for k, v in SECRETS.items() if k != "feishu_secret"})
    assert any(p.startswith("problems.yaml:15:") and "'feishu_secret'" in p for p in problems), problems
    assert not any(secret in p for p in problems for secret in SECRETS.values())


def test_the_secrets_of_a_valid_section_are_masked(tmp_path: Path) -> None:
    text = (FIXTURES / "problems.yaml").read_text(encoding="utf-8")
    valid = (
        text.split("    teams-bot:")[0]
        .replace("drill-room:8470", "https://drill-room:8470")
        .replace("[opz]", "[ops]")
    )
    valid = valid.replace("ftp://", "https://") + 'steps:\n  - {id: one, run: "true"}\n'
    (tmp_path / "ok.yaml").write_text(valid, encoding="utf-8")
    scn = load_scenario(str(tmp_path / "ok.yaml"), cli_vars=SECRETS)
    assert scn.notify is not None and [c.id for c in scn.notify.channels] == ["ops-room", "ding", "lark"]
    assert set(SECRETS.values()) <= set(scn.secrets)
    assert "https://open.feishu.cn/hook/x" in scn.secrets  # a Feishu webhook URL is its credential


def test_drill_validate_exits_2_on_a_bad_section(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(FIXTURES)
    args = [arg for name, value in SECRETS.items() for arg in ("--var", f"{name}={value}")]
    assert main(["validate", "problems.yaml", *args]) == 2
    err = capsys.readouterr().err
    assert "problems.yaml:17:7: notify.channels.teams-bot: unknown platform 'msteams'" in err
    assert "Traceback" not in err and not any(secret in err for secret in SECRETS.values())


def test_a_robot_url_written_with_its_key_is_a_secret(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text(
        "version: 1\nname: k\ntitle: k\nenvironment: lab\nnotify:\n  channels:\n    room:\n"
        "      wecom: {key: '{{ k }}', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={{ k2 }}'}\n"
        "steps:\n  - {id: one, run: 'true'}\n",
        encoding="utf-8",
    )
    scn = load_scenario(str(tmp_path / "k.yaml"), cli_vars={"k": "wk-first-0001", "k2": "wk-second-0002"})
    assert {"wk-first-0001", "wk-second-0002"} <= set(scn.secrets)
