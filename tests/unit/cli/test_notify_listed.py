"""The annual drill's `notify:` example (commented out in scenarios/annual-drill.yaml) is valid once
uncommented, covers every team, and `drill validate`/`drill plan` list its channels by name and platform
without a URL or a key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bcdrill.cli.main import main
from bcdrill.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[3]
ANNUAL = ROOT / "scenarios" / "annual-drill.yaml"
VARS = {
    "wecom_ops_key": "wk-ops-5e1f0c0a",
    "dingtalk_it_token": "dt-it-77c2b9e4",
    "dingtalk_it_secret": "SEC-it-0b3d5a19",
    "feishu_bcp_webhook": "https://open.feishu.cn/open-apis/bot/v2/hook/fs-bcp-4a8c2d1e",
    "wecom_business_key": "wk-biz-9f3e6b27",
    "feishu_bcp_secret": "fs-bcp-secret-61d0",
    "soc_hmac_secret": "soc-hmac-2c7e9a4f",
}
ARGS = [arg for name, value in VARS.items() for arg in ("--var", f"{name}={value}")]


def uncommented(text: str) -> str:
    """The scenario with its commented `notify:` block made live."""
    out, inside = [], False
    for line in text.splitlines():
        inside = line.startswith("# notify:") or (inside and line.startswith("#   "))
        out.append(line[2:] if inside else line)
    return "\n".join(out) + "\n"


@pytest.fixture
def annual(tmp_path: Path) -> Path:
    """A copy of the annual drill with notify: live, beside links to what it refers to."""
    (tmp_path / "scenarios").mkdir()
    for name in ("checks", "playbooks"):
        (tmp_path / name).symlink_to(ROOT / name)
    for path in (ROOT / "scenarios").iterdir():
        (tmp_path / "scenarios" / path.name).symlink_to(path)
    copy = tmp_path / "scenarios" / "annual-notify.yaml"
    copy.write_text(uncommented(ANNUAL.read_text(encoding="utf-8")), encoding="utf-8")
    return copy


def test_the_annual_drill_notifies_every_team_and_every_team_has_people(annual: Path) -> None:
    assert load_scenario(str(ANNUAL)).notify is None  # shipped commented out
    scn = load_scenario(str(annual), cli_vars=VARS)
    assert scn.notify is not None
    channels = {c.id: c for c in scn.notify.channels}
    assert {c.platform for c in channels.values()} == {"wecom", "dingtalk", "feishu", "webhook"}
    paged = {team for c in channels.values() if "waiting" in c.events for team in c.teams}
    assert paged == set(scn.teams)  # each team's waiting steps reach its own group
    assert {p.team for p in scn.participants} == set(scn.teams)
    assert set(VARS.values()) - {VARS["feishu_bcp_webhook"]} <= set(scn.secrets)


def test_validate_and_plan_list_the_channels_never_their_urls_or_keys(
    annual: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(annual), *ARGS]) == 0
    validated = capsys.readouterr().out
    assert "  notify: 5 channel(s)\n" in validated
    assert (
        "    business-wecom: wecom — teams group, sales, office; waiting, failed, ended; up to 20/min"
        in validated
    )
    assert main(["plan", str(annual), *ARGS]) == 0
    planned = capsys.readouterr().out
    assert "Notifications (5 channel(s); drill run --no-notify sends none):" in planned
    assert "  soc: webhook — general (no teams:); all events; up to 60/min" in planned
    assert main(["plan", str(annual), "--format", "json", *ARGS]) == 0
    as_json = capsys.readouterr().out
    channels = json.loads(as_json)["channels"]
    assert [(c["id"], c["platform"]) for c in channels][:2] == [
        ("ops-wecom", "wecom"),
        ("it-dingtalk", "dingtalk"),
    ]
    assert set(channels[0]) == {"id", "platform", "teams", "events", "per_minute"}
    for text in (validated, planned, as_json):
        assert "soc.example.internal" not in text and "http" not in text
        assert not [value for value in VARS.values() if value in text]
