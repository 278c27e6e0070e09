"""The web console in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright),
beside a real `drill run --console` process: a verifier confirms from a phone-sized window with a
note and a screenshot, the runner goes on and the report names them with the evidence digest; a
participant of another team gets 403, no token gets 401, the commander holds and continues the
drill. The latency from a journal line to the page is measured on every update the page gets. In
CI (CI=true) a missing Chromium fails the test instead of skipping it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bcdrill.render.pdf import find_chromium

PHONE = {"width": 390, "height": 844}
SCENARIO = """\
version: 1
name: console-browser
title: 控制台演练 / console drill
environment: lab
defaults: {timeout: 2m, retries: 0, retry_delay: 0s, on_failure: abort}
teams:
  ops: {title: 运营管理部}
  tech: {title: 科技信息部}
participants:
  - {name: 张三, team: tech, role: 演练总指挥 / drill commander}
  - {name: 赵六, team: ops, role: 个险业务验证 / business verifier}
  - {name: 李四, team: tech, role: 灾备支持组 / DR support}
systems:
  core: {title: 个险核心系统 / core, tier: 1, rto: 10m}
steps:
  - id: declare
    title: 宣布启动灾备切换 / declare
    team: ops
    manual: {prompt: 确认已宣布 / confirm the declaration}
    declares: true
  - {id: promote, title: 提升灾备数据库 / promote, team: tech, run: "sleep 0.5", expect: 2s}
  - {id: core-up, title: 核心系统可用 / core up, team: tech, run: "true", recovers: [core]}
  - id: verify
    title: 新契约录入验证 / new business
    team: ops
    manual: {prompt: 验证新契约录入 / verify new business entry}
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI: apt-get install chromium")
        pytest.skip("Chromium is not installed")
    return found


class Drill:
    """`drill run --console 127.0.0.1:0` as a real process, with its console URL and personal links."""

    def __init__(self, tmp_path: Path) -> None:
        scenario = tmp_path / "console-browser.yaml"
        scenario.write_text(SCENARIO, encoding="utf-8")
        self.run_dir = tmp_path / "run"
        self.stderr = tmp_path / "stderr.txt"
        with self.stderr.open("w", encoding="utf-8") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bcdrill.cli",
                    "run",
                    str(scenario),
                    "--run-dir",
                    str(self.run_dir),
                    "--console",
                    "127.0.0.1:0",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        self.url = self._wait_for_url()
        self.links = self._links()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"console: (http://127\.0\.0\.1:\d+/)", self.stderr.read_text(encoding="utf-8"))
            if found:
                return found.group(1)
            assert self.proc.poll() is None, self.stderr.read_text(encoding="utf-8")
            time.sleep(0.05)
        raise AssertionError("the console did not start")

    def _links(self) -> dict[str, str]:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bcdrill.cli",
                "console",
                str(self.run_dir),
                "--links",
                "--base-url",
                self.url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        rows = [line.split("\t") for line in out.splitlines()]
        assert all(len(row) == 4 for row in rows), out
        return {name: url for name, _team, _role, url in rows}

    def token(self, name: str) -> str:
        return self.links[name].split("#t=")[1]

    def records(self) -> list[dict[str, Any]]:
        text = (self.run_dir / "journal.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]

    def wait_for(self, found: Callable[[list[dict[str, Any]]], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found(self.records()):
                return
            time.sleep(0.05)
        raise AssertionError(f"not journaled in {timeout}s: {[r['event'] for r in self.records()]}")

    def finish(self) -> int:
        return self.proc.wait(60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def started(step: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda rs: any(r["event"] == "step.started" and r["step"] == step for r in rs)


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    running = Drill(tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser(chromium: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def phone(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    return context.new_page()


def latencies(page: Any) -> list[float]:
    """Seconds from a journal line's time to the page receiving it, for every update that carried new
    lines (the oldest line of the update: the longest any line waited)."""
    updates = page.evaluate("window.__drill.updates")
    out, last_seq = [], None
    for u in updates:
        if u["seq"] != last_seq and last_seq is not None:
            line_ts = u["first_ts"] or u["last_ts"]
            written = datetime.fromisoformat(line_ts.replace("Z", "+00:00")).timestamp()
            out.append(u["received"] / 1000 - written)
        last_seq = u["seq"]
    return out


def wait_for_status(page: Any, status: str) -> None:
    try:
        page.locator(f"#status.{status}").wait_for(timeout=10_000)
    except Exception as exc:
        updates = page.evaluate("window.__drill.updates.slice(-3)")
        raise AssertionError(f"status {status} not shown; last updates {updates}") from exc


def confirm(page: Any, step: str, note: str, *, files: list[Path] | None = None) -> None:
    card = page.locator(f'form.ack[data-step="{step}"]')
    card.wait_for(timeout=20_000)
    card.locator("textarea[name=note]").fill(note)
    if files:
        card.locator("input[name=files]").set_input_files([str(f) for f in files])
    page.evaluate("document.getElementById('waiting-msg').className = 'msg'")
    card.locator("button[type=submit]").click()
    page.locator("#waiting-msg.ok").wait_for(timeout=20_000)  # the card itself goes once journaled


def test_a_verifier_confirms_from_a_phone_with_a_note_and_a_screenshot(
    drill: Drill, browser: Any, tmp_path: Path
) -> None:
    page = phone(browser)
    page.goto(drill.links["赵六"])
    page.locator('form.ack[data-step="declare"]').wait_for(timeout=20_000)
    assert "#t=" not in page.url  # the token left the address bar
    assert page.locator("#you").inner_text().startswith("您: 赵六")  # zh-CN phone: the page is in Chinese
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    confirm(page, "declare", "已宣布 / declared")
    drill.wait_for(started("verify"))
    shot = tmp_path / "dr-new-business.png"
    page.locator('form.ack[data-step="verify"]').wait_for(timeout=20_000)
    page.screenshot(path=str(shot), full_page=True)
    confirm(page, "verify", "新契约录入正常 / new business entry works at DR", files=[shot])
    assert drill.finish() == 0, drill.stderr.read_text(encoding="utf-8")
    wait_for_status(page, "complete")

    digest = hashlib.sha256(shot.read_bytes()).hexdigest()
    records = drill.records()
    ack = next(r for r in records if r["event"] == "manual.acknowledged" and r["step"] == "verify")
    added = next(r for r in records if r["event"] == "evidence.added")
    assert added["sha256"] == digest and added["seq"] < ack["seq"]  # the file is on record before the ack
    assert (ack["by"], ack["via"], ack["result"], ack["evidence"]) == ("赵六", "console", "pass", [digest])
    assert ack["client"] == "127.0.0.1" and ack["role"].startswith("个险业务验证")
    report = (drill.run_dir / "report.md").read_text(encoding="utf-8")
    assert re.search(
        r"\| 赵六 \| pass \| .* \| 新契约录入正常 / new business entry works at DR `" + digest[:12], report
    )
    assert "web console (个险业务验证 / business verifier)" in report
    assert digest in report  # the evidence annex
    seen = latencies(page)
    assert seen, "the page got no update"
    seen.sort()
    assert seen[len(seen) // 2] < 1.0, f"median latency journal line -> page {seen[len(seen) // 2]:.3f}s"
    print(
        f"latency journal line -> page: {len(seen)} updates, median {seen[len(seen) // 2] * 1000:.0f} ms, "
        f"max {seen[-1] * 1000:.0f} ms"
    )


def test_other_team_403_no_token_401_and_the_commander_holds_and_continues(
    drill: Drill, browser: Any
) -> None:
    anonymous = phone(browser)
    anonymous.goto(drill.url)
    anonymous.locator("#signin:not(.hidden)").wait_for(timeout=20_000)
    assert anonymous.evaluate("fetch('/api/state').then(r => r.status)") == 401

    tech = phone(browser)
    tech.goto(drill.links["李四"])
    tech.locator("#waiting-none:not(.hidden)").wait_for(timeout=20_000)  # declare is the ops team's
    assert tech.locator('form.ack[data-step="declare"]').count() == 0
    status = tech.evaluate(
        """async () => {
            const s = await (await fetch('/api/session')).json();
            const r = await fetch('/api/steps/declare/ack', {method: 'POST', headers: {'Content-Type':
                'application/json', 'X-CSRF-Token': s.csrf}, body: JSON.stringify({result: 'pass'})});
            return r.status;
        }"""
    )
    assert status == 403

    boss = browser.new_page(viewport={"width": 1200, "height": 900})
    boss.goto(drill.links["张三"])
    boss.locator("#commander:not(.hidden)").wait_for(timeout=20_000)
    boss.fill("#hold-reason", "网络组要求暂停 / network team asks to hold")
    boss.click("#hold")
    boss.locator("#status.held").wait_for(timeout=10_000)
    drill.wait_for(lambda rs: any(r["event"] == "commander.action" and r["action"] == "hold" for r in rs))
    confirm(boss, "declare", "declared by the commander")  # a commander may confirm any team's step
    drill.wait_for(lambda rs: any(r["event"] == "step.finished" and r["step"] == "declare" for r in rs))
    time.sleep(1.5)
    assert not started("promote")(drill.records()), "a step started while the drill was held"
    boss.fill("#hold-reason", "继续 / go on")
    boss.click("#continue")
    boss.locator("#status.running").wait_for(timeout=10_000)
    drill.wait_for(started("verify"))
    confirm(boss, "verify", "verified")
    assert drill.finish() == 0
    actions = [(r["action"], r["by"]) for r in drill.records() if r["event"] == "commander.action"]
    assert actions == [("hold", "张三"), ("continue", "张三")]
    report = (drill.run_dir / "report.md").read_text(encoding="utf-8")
    assert "network team asks to hold" in report and "a drill commander's decision (web console)" in report
