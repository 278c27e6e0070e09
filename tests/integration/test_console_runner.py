"""What the web console asks, as the runner applies it: hold/continue, a commander's skip, evidence,
a not-tested confirmation, and retry / mark-done decisions applied by `drill resume` (the console's
request files are dropped here by the same functions the console calls)."""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bcdrill.executors.base import RunOptions
from bcdrill.record.journal import read_journal, verify_journal
from bcdrill.run import session
from bcdrill.run.inbox import write_ack
from bcdrill.run.request import RunRequest
from bcdrill.run.requests import Actor, store_evidence, write_request
from bcdrill.run.resume import resume_run
from bcdrill.run.runner import run_scenario
from bcdrill.scenario.loader import load_scenario

BOSS = Actor("张三", "drill commander", "tech", "127.0.0.1")
VERIFIER = Actor("赵六", "business verifier", "ops", "127.0.0.1")
SCENARIO = """\
version: 1
name: console-run
title: console requests
environment: lab
defaults: {timeout: 60s, retries: 0, retry_delay: 0s, on_failure: abort}
teams: {ops: {title: Ops}, tech: {title: Tech}}
steps:
  - {id: declare, team: ops, manual: {prompt: declare}}
  - {id: after, team: tech, run: "true"}
  - {id: verify, team: ops, manual: {prompt: verify}}
  - {id: final, team: tech, run: "true"}
"""


def _records(run_dir: Path) -> list[dict[str, Any]]:
    return (
        [dict(r) for r in read_journal(run_dir / "journal.jsonl")]
        if (run_dir / "journal.jsonl").exists()
        else []
    )


def _wait_for(
    run_dir: Path, found: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = _records(run_dir)
        if found(records):
            return records
        time.sleep(0.05)
    raise AssertionError(f"not seen within {timeout}s; journal: {[r['event'] for r in _records(run_dir)]}")


def _started(step: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda rs: any(r["event"] == "step.started" and r["step"] == step for r in rs)


def _start(tmp_path: Path, body: str = SCENARIO) -> tuple[Path, threading.Thread, list[int]]:
    path = tmp_path / "console-run.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    run_dir = tmp_path / "run"
    codes: list[int] = []
    request = RunRequest(options=RunOptions(), argv=("drill",), run_dir=run_dir)
    thread = threading.Thread(
        target=lambda: codes.append(run_scenario(load_scenario(path), request).exit_code)
    )
    thread.start()
    return run_dir, thread, codes


def test_hold_stops_new_steps_until_continue_and_a_skip_lets_dependents_run(tmp_path: Path) -> None:
    run_dir, thread, codes = _start(tmp_path)
    _wait_for(run_dir, _started("declare"))
    write_request(run_dir, "hold", BOSS, reason="network team asks for 5 minutes")
    _wait_for(run_dir, lambda rs: any(r["event"] == "commander.action" for r in rs))
    write_ack(run_dir, "declare", by="赵六", result="pass", origin={"via": "console", "role": "verifier"})
    _wait_for(run_dir, lambda rs: any(r["event"] == "step.finished" and r["step"] == "declare" for r in rs))
    time.sleep(1.0)
    assert not _started("after")(_records(run_dir)), "a step started while the drill was held"
    write_request(run_dir, "continue", BOSS, reason="network ok")
    _wait_for(run_dir, _started("verify"))
    write_ack(
        run_dir,
        "verify",
        by="张三",
        result="skip",
        note="verified last week",
        origin={"via": "console", "role": "drill commander"},
    )
    thread.join(30)
    records = _records(run_dir)
    actions = [(r["action"], r["by"], r.get("reason")) for r in records if r["event"] == "commander.action"]
    assert actions == [
        ("hold", "张三", "network team asks for 5 minutes"),
        ("continue", "张三", "network ok"),
        ("skip", "张三", "verified last week"),
    ]
    verify = [r for r in records if r["event"] == "step.finished" and r["step"] == "verify"][-1]
    assert verify["status"] == "skipped" and verify["waived"] is True and "张三" in verify["detail"]
    assert _started("final")(records), "a commander's skip holds back the dependents"
    ack = next(r for r in records if r["event"] == "manual.acknowledged")
    assert (ack["by"], ack["via"], ack["role"]) == ("赵六", "console", "verifier")
    assert codes == [0] and verify_journal(run_dir).ok


def test_not_tested_fails_the_step_and_evidence_is_journaled(tmp_path: Path) -> None:
    run_dir, thread, codes = _start(
        tmp_path,
        SCENARIO.replace("manual: {prompt: verify}}", "manual: {prompt: verify}, on_failure: continue}"),
    )
    _wait_for(run_dir, _started("declare"))
    write_ack(run_dir, "declare", by="赵六")
    _wait_for(run_dir, _started("verify"))
    stored = store_evidence(run_dir, "verify", "export.csv", b"policy,ok\n", VERIFIER)
    _wait_for(run_dir, lambda rs: any(r["event"] == "evidence.added" for r in rs))
    write_ack(
        run_dir,
        "verify",
        by="赵六",
        result="not_tested",
        note="DR link down",
        origin={"via": "console", "evidence": [stored["sha256"]]},
    )
    thread.join(30)
    records = _records(run_dir)
    evidence = next(r for r in records if r["event"] == "evidence.added")
    assert (
        evidence["sha256"] == stored["sha256"] and (run_dir / evidence["file"]).read_bytes() == b"policy,ok\n"
    )
    ack = next(r for r in records if r["event"] == "manual.acknowledged" and r["step"] == "verify")
    assert ack["result"] == "not_tested" and ack["evidence"] == [stored["sha256"]]
    verify = [r for r in records if r["event"] == "step.finished" and r["step"] == "verify"][-1]
    assert verify["status"] == "failed" and "not tested" in verify["detail"]
    assert codes == [1]


def test_evidence_given_with_the_last_ack_is_journaled_before_the_run_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console uploads the file and sends the ack at once; the runner may take the ack and end
    the drill before its request watcher looks again (here: it never looks again): the evidence
    must not be lost."""
    monkeypatch.setattr(session, "NOTE_POLL", 3600.0)
    run_dir, thread, codes = _start(
        tmp_path, SCENARIO.replace('  - {id: final, team: tech, run: "true"}\n', "")
    )
    _wait_for(run_dir, _started("declare"))
    write_ack(run_dir, "declare", by="赵六")
    _wait_for(run_dir, _started("verify"))
    for _ in range(3):
        stored = store_evidence(run_dir, "verify", "screen.png", b"\x89PNG fake", VERIFIER)
    write_ack(run_dir, "verify", by="赵六", origin={"via": "console", "evidence": [stored["sha256"]]})
    thread.join(30)
    records = _records(run_dir)
    events = [r["event"] for r in records]
    assert events.count("evidence.added") == 3, events
    assert events.index("run.finished") > max(i for i, e in enumerate(events) if e == "evidence.added")
    assert codes == [0] and not list((run_dir / "requests").glob("*.json"))


def test_resume_applies_the_commanders_retry(tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    body = SCENARIO.replace(
        '{id: after, team: tech, run: "true"}', f'{{id: after, team: tech, run: "test -f {flag}"}}'
    )
    run_dir, thread, codes = _start(tmp_path, body)
    _wait_for(run_dir, _started("declare"))
    write_ack(run_dir, "declare", by="赵六")
    thread.join(30)
    assert codes == [3]  # `after` failed and aborted the drill
    flag.write_text("", encoding="utf-8")
    write_request(run_dir, "retry", BOSS, step="after", reason="the flag file is there now")
    request = RunRequest(options=RunOptions(auto_ack=True), argv=("drill", "resume"))
    assert resume_run(run_dir, request).exit_code == 0
    records = _records(run_dir)
    retry = next(r for r in records if r["event"] == "commander.action")
    assert (retry["action"], retry["step"], retry["by"], retry["via"]) == (
        "retry",
        "after",
        "张三",
        "console",
    )
    resumed = next(r for r in records if r["event"] == "run.resumed")
    assert resumed["rerun"] == ["after"]
    assert [r["status"] for r in records if r["event"] == "step.finished" and r["step"] == "after"] == [
        "failed",
        "ok",
    ]
    assert not list((run_dir / "requests").glob("*.json"))  # applied once


def test_resume_applies_the_commanders_mark_done_of_a_step_a_crash_left_in_flight(tmp_path: Path) -> None:
    run_dir, thread, _codes = _start(tmp_path)
    _wait_for(run_dir, _started("declare"))
    write_ack(run_dir, "declare", by="赵六")
    _wait_for(run_dir, _started("verify"))
    write_ack(run_dir, "verify", by="赵六")
    thread.join(30)
    journal = run_dir / "journal.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if '"step.started"' in line and '"after"' in line)
    journal.write_text("".join(lines[: cut + 1]), encoding="utf-8")  # as if the runner died here
    write_request(run_dir, "mark_done", BOSS, step="after", reason="checked by hand: it ran")
    request = RunRequest(options=RunOptions(auto_ack=True), argv=("drill", "resume"))
    assert resume_run(run_dir, request).exit_code == 0
    records = _records(run_dir)
    marked = next(r for r in records if r["event"] == "commander.action")
    assert (marked["action"], marked["step"], marked["reason"]) == (
        "mark_done",
        "after",
        "checked by hand: it ran",
    )
    after = [r for r in records if r["event"] == "step.finished" and r["step"] == "after"]
    assert [r["status"] for r in after] == ["interrupted", "ok"] and after[-1][
        "detail"
    ] == "marked done by 张三"
    assert verify_journal(run_dir).ok
