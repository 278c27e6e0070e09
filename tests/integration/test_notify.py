"""Notifications end to end: real `drill run` processes post to the local robot receiver
(tests/unit/robots.py: a real HTTP server on 127.0.0.1 that checks each platform's documented
signature, payload shape and the 20-a-minute limit of WeCom and DingTalk robots)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from robots import VARS, Robots, notify_yaml, robots_server

HEAD = """\
version: 1
name: notify-drill
title: 通知演练 / notify drill
environment: lab
teams: {ops: {title: 运营管理部 / Ops}, tech: {title: 科技信息部 / IT}}
systems:
  core: {title: 个险核心 / core, rto: 1m}
"""
STEPS = """\
steps:
  - {id: declare, team: ops, manual: {prompt: 宣布 / declare}, declares: true}
  - {id: promote, team: tech, run: "true", recovers: [core]}
  - {id: broken, team: tech, run: "echo no route >&2; exit 3", on_failure: continue}
"""
SECRET_ARGS = [arg for name, value in VARS.items() for arg in ("--var", f"{name}={value}")]


@pytest.fixture
def robots() -> Iterator[tuple[Robots, int]]:
    state = Robots()
    served = robots_server(state)
    port = next(served)
    yield state, port
    served.close()


def start(
    tmp_path: Path,
    body: str,
    *extra: str,
    secret_args: list[str] = SECRET_ARGS,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], Path]:
    path = tmp_path / "notify.yaml"
    path.write_text(body, encoding="utf-8")
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bcdrill.cli",
            "run",
            str(path),
            "--run-dir",
            str(run_dir),
            *secret_args,
            *extra,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BCDRILL_LANG": "en", **(env or {})},
    )
    return proc, run_dir


def journal(run_dir: Path) -> list[dict[str, Any]]:
    text = (
        (run_dir / "journal.jsonl").read_text(encoding="utf-8")
        if (run_dir / "journal.jsonl").exists()
        else ""
    )
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


def wait_until(found: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not found():
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(0.05)


def text_of(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_each_platform_gets_signed_messages_and_a_team_gets_its_waiting_step(
    robots: tuple[Robots, int], tmp_path: Path
) -> None:
    state, port = robots
    by_env = ("dingtalk_secret", "feishu_secret")  # signing secrets from the environment, not argv
    args = [arg for name, value in VARS.items() if name not in by_env for arg in ("--var", f"{name}={value}")]
    env = {f"BCDRILL_VAR_{name}": VARS[name] for name in by_env}
    proc, run_dir = start(tmp_path, HEAD + notify_yaml(port) + STEPS, secret_args=args, env=env)
    wait_until(lambda: any(r["event"] == "step.started" and r["step"] == "declare" for r in journal(run_dir)))
    wait_until(
        lambda: any("Waiting" in text_of(r.body) or "等待" in text_of(r.body) for r in state.of("wecom"))
    )
    ack = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", "ack", str(run_dir), "declare", "--by", "王总"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ack.returncode == 0, ack.stderr
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err  # `broken` failed (on_failure: continue)

    assert state.problems() == []  # every signature, key, timestamp and payload as the platforms document
    for platform in ("wecom", "dingtalk", "feishu", "webhook"):
        seen = " ".join(text_of(r.body) for r in state.of(platform))
        assert "Drill started" in seen and "Drill ended" in seen, (platform, seen)
        assert ("Step failed: broken" in seen) == (platform != "wecom"), (platform, seen)  # wecom: ops only
    wecom = " ".join(text_of(r.body) for r in state.of("wecom"))
    assert "declare" in wecom and "http://127.0.0.1:8470/" in wecom  # the ops team's channel, with the link
    others = " ".join(text_of(r.body) for p in ("dingtalk", "feishu", "webhook") for r in state.of(p))
    assert "Waiting" not in others  # the team has its own channel: the general ones are not paged
    everything = (
        out
        + err
        + "".join(p.read_text(encoding="utf-8", errors="replace") for p in run_dir.rglob("*") if p.is_file())
    )
    for secret in VARS.values():
        assert secret not in everything, "a webhook secret reached the run's output"
    assert not [r for r in journal(run_dir) if r["event"] == "notify.failed"]


def test_a_burst_of_100_failures_stays_within_20_a_minute_per_robot_in_digests(
    robots: tuple[Robots, int], tmp_path: Path
) -> None:
    state, port = robots
    steps = "steps:\n" + "".join(
        f'  - {{id: f{i:03d}, run: "exit 1", needs: [], on_failure: continue}}\n' for i in range(100)
    )
    steps += '  - {id: up, run: "true", recovers: [core]}\n'
    proc, run_dir = start(
        tmp_path, HEAD.replace("rto: 1m", "rto: 1h") + notify_yaml(port, teams=False) + steps
    )
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert state.problems() == []  # the receiver counts: never more than 20 in any 60 s per robot
    for platform in ("wecom", "dingtalk"):
        received = state.of(platform)
        assert len(received) <= 20, len(received)
        seen = " ".join(text_of(r.body) for r in received)
        missing = [i for i in range(100) if f"f{i:03d}" not in seen]
        assert missing == [], f"{platform}: {len(missing)} failures never told"
        assert any("steps failed: " in text_of(r.body) for r in received)  # a digest line of failures
    assert not [r for r in journal(run_dir) if r["event"] == "notify.failed"]  # none dropped at the end
    print({p: len(state.of(p)) for p in ("wecom", "dingtalk", "feishu", "webhook")})


def test_a_late_recovery_is_predicted_to_breach_its_rto_then_breaches_it(
    robots: tuple[Robots, int], tmp_path: Path
) -> None:
    state, port = robots
    steps = """\
steps:
  - {id: declare, team: ops, run: "true", declares: true}
  - {id: promote, team: tech, run: "sleep 4", expect: 10s, needs: [declare], recovers: [core]}
"""
    proc, run_dir = start(tmp_path, HEAD.replace("rto: 1m", "rto: 2s") + notify_yaml(port) + steps)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err  # the RTO target was missed
    kinds = [m["kind"] for r in state.of("webhook") for m in r.body["messages"]]
    assert kinds == ["started", "rto_predicted", "rto_breached", "ended"], kinds
    told = {m["kind"]: m for r in state.of("webhook") for m in r.body["messages"]}
    # predicted from promote's expect (10 s) before the target passed, then the breach itself, both
    # while promote still ran
    assert told["rto_predicted"]["system"] == "core" and "projected 10.0s" in told["rto_predicted"]["title"]
    promoted = next(
        r["ts"] for r in journal(run_dir) if r["event"] == "step.finished" and r["step"] == "promote"
    )
    assert told["rto_predicted"]["ts"] < told["rto_breached"]["ts"] < promoted
    assert state.problems() == []


def test_a_resumed_drill_says_resumed_and_repeats_nothing_told_before(
    robots: tuple[Robots, int], tmp_path: Path
) -> None:
    state, port = robots
    flag = tmp_path / "dr-ready"
    steps = f"""\
steps:
  - {{id: declare, team: ops, run: "true", declares: true}}
  - {{id: promote, team: tech, run: "test -f {flag}", needs: [declare], recovers: [core]}}
"""
    proc, run_dir = start(tmp_path, HEAD + notify_yaml(port) + steps)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err  # promote failed: aborted, resumable
    flag.write_text("ok", encoding="utf-8")
    resumed = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", "resume", str(run_dir), "--rerun", "promote", *SECRET_ARGS],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BCDRILL_LANG": "en"},
    )
    assert resumed.returncode == 0, resumed.stderr
    titles = [m["title"] for r in state.of("webhook") for m in r.body["messages"]]
    kinds = [m["kind"] for r in state.of("webhook") for m in r.body["messages"]]
    assert kinds == ["started", "failed", "ended", "started", "ended"], titles
    assert titles[3].startswith("Drill resumed") and "ABORTED" in titles[2], titles
    assert state.problems() == []


@pytest.mark.parametrize("mode", ["hang", "down"])
def test_a_dead_or_hanging_robot_never_holds_the_drill_and_its_failures_are_journaled(
    robots: tuple[Robots, int], tmp_path: Path, mode: str
) -> None:
    state, port = robots
    state.mode = mode
    steps = STEPS.replace("manual: {prompt: 宣布 / declare}", 'run: "sleep 0.2"')
    proc, run_dir = start(tmp_path, HEAD + notify_yaml(port, timeout="3s") + steps)
    proc.communicate(timeout=120)
    assert proc.returncode == 1
    records = journal(run_dir)
    spans = [r for r in records if r["event"] == "step.finished"]
    assert [r["status"] for r in spans] == ["ok", "ok", "failed"]
    assert spans[0]["duration"] < 1.5  # the notifier runs beside the steps, never in their way
    run_end = next(i for i, r in enumerate(records) if r["event"] == "run.finished")
    finished_at = records[run_end]["t"]
    # the whole run is shorter than one request's timeout (3 s) although each robot holds or refuses
    # every request: no step ever waited for a notification
    assert finished_at < 3, finished_at
    failed = [r for r in records if r["event"] == "notify.failed"]
    assert {r["channel"] for r in failed} == {"wecom-ops", "dingtalk-room", "feishu-room", "soc"}, failed
    assert all(r["error"] for r in failed)
    assert records[-1]["t"] - finished_at < 5 + 1  # the flush after the run: 5 s at most
    told = {(r["channel"], k) for r in failed for k in r["kinds"]}
    assert ("soc", "ended") in told and ("wecom-ops", "started") in told  # nothing vanishes unsaid
    if mode == "hang":  # the request carrying "ended" was still unanswered when the flush bound came
        late = [r for r in failed if "ended" in r["kinds"]]
        assert all("no answer within 5s after the run ended" in r["error"] for r in late), late
    verify = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", "verify", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_the_console_a_run_serves_is_linked_in_its_teams_waiting_message(
    robots: tuple[Robots, int], tmp_path: Path
) -> None:
    state, port = robots
    body = HEAD + notify_yaml(port, console_url=None) + STEPS
    proc, run_dir = start(tmp_path, body, "--console", "127.0.0.1:0")
    wait_until(lambda: any("Waiting" in text_of(r.body) for r in state.of("wecom")))
    subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", "ack", str(run_dir), "declare", "--by", "王总"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    _out, err = proc.communicate(timeout=120)
    console = next(line.split(" ", 1)[1] for line in err.splitlines() if line.startswith("console: http"))
    waiting = next(text_of(r.body) for r in state.of("wecom") if "Waiting" in text_of(r.body))
    assert f"{console}#step=declare" in waiting, (console, waiting)  # the base URL, never a token
    assert "token" not in waiting and "?t=" not in waiting
