"""The web console's state, folded from fixture journals (no server, no processes)."""

from __future__ import annotations

import json
from pathlib import Path

from journal_fixtures import JournalBuilder, live_events, reference_events, write_lines

from bcdrill.listeners.console.state import DrillState
from bcdrill.listeners.console.tail import JournalTail
from bcdrill.listeners.console.views import state_json


def _fold(records: list[dict]) -> DrillState:
    state = DrillState()
    for rec in records:
        state.apply(rec)
    return state


def _steps(body: dict) -> dict[str, dict]:
    return {s["id"]: s for s in body["steps"]}


def test_live_drill_shows_waiting_running_and_pending_steps_with_who_runs_them() -> None:
    body = state_json(_fold(live_events()), now_t=120.0)
    steps = _steps(body)
    assert steps["declare"]["status"] == "ok"
    assert steps["declare"]["acks"][0]["via"] == "console"
    assert steps["mail-check"]["status"] == "waiting"
    assert steps["mail-check"]["runs_by"] == ["吴九"]
    assert steps["promote"]["status"] == "running"
    assert steps["core-up"]["status"] == "pending"
    assert steps["promote"]["lateness"] == 60.0 - 0.0  # planned to start at 0 s (declare has no expect)
    assert "undo" not in steps  # rollback steps appear once they run
    run = body["run"]
    assert run["status"] == "running" and run["t0_t"] == 60.0 and run["since_t0"] == 60.0
    assert run["counts"] == {"ok": 1, "running": 1, "waiting": 1, "pending": 2}


def test_projected_rto_warns_before_the_breach_and_names_the_critical_path() -> None:
    body = state_json(_fold(live_events()), now_t=120.0)
    core = {s["id"]: s for s in body["systems"]}["core"]
    assert core["elapsed"] == 60.0 and core["remaining"] == 1740.0
    assert core["projected_rto"] == 2100.0  # promote ends at 660 s, core-up takes 1500 s, T0 = 60 s
    assert core["predicted_breach"] is True and core["breached"] is False
    assert core["critical_path"] == ["promote", "core-up"]
    kinds = [(d["ref"], d["kind"], d["severity"]) for d in body["deviations"]]
    assert ("core", "rto_breach_predicted", "high") in kinds


def test_a_breach_once_the_clock_passes_the_target() -> None:
    body = state_json(_fold(live_events()), now_t=60.0 + 1801.0)
    core = {s["id"]: s for s in body["systems"]}["core"]
    assert core["breached"] is True and core["predicted_breach"] is False and core["remaining"] == -1.0


def test_hold_continue_skip_and_evidence_are_shown() -> None:
    records = live_events()
    b = JournalBuilder()
    b.records = list(records)
    b.add(
        "commander.action",
        130.0,
        action="hold",
        step=None,
        by="张三",
        role="commander",
        reason="wait",
        via="console",
    )
    held = _fold(b.records)
    assert state_json(held, 131.0)["run"]["status"] == "held"
    b.add(
        "commander.action",
        140.0,
        action="continue",
        step=None,
        by="张三",
        role="commander",
        reason="go",
        via="console",
    )
    b.add(
        "evidence.added",
        141.0,
        step="mail-check",
        file="evidence/mail-check/ab-x.png",
        sha256="ab" * 32,
        name="x.png",
        size=3,
        by="吴九",
    )
    b.add(
        "commander.action",
        142.0,
        action="skip",
        step="mail-check",
        by="张三",
        role="commander",
        reason="mail out of scope",
        via="console",
    )
    b.add(
        "step.finished",
        142.0,
        step="mail-check",
        attempt=1,
        status="skipped",
        detail="skipped by 张三: mail out of scope",
        final=True,
        waived=True,
    )
    body = state_json(_fold(b.records), 150.0)
    assert body["run"]["status"] == "running"
    mail = _steps(body)["mail-check"]
    assert mail["status"] == "skipped" and mail["waived"] is True
    assert mail["evidence"][0]["sha256"] == "ab" * 32
    kinds = [d["kind"] for d in body["deviations"]]
    assert {"commander_hold", "commander_continue", "commander_skip", "skipped_by_commander"} <= set(kinds)


def test_finished_run_freezes_the_clock_and_open_steps_end_interrupted() -> None:
    records = live_events()
    b = JournalBuilder()
    b.records = list(records)
    b.add("run.interrupted", 200.0, reason="SIGTERM", in_flight=["promote", "mail-check"])
    b.add("run.finished", 200.0, status="interrupted", exit_code=3)
    state = _fold(b.records)
    assert not state.running and state.now_t() == 200.0
    steps = _steps(state_json(state, 999.0))
    assert steps["promote"]["status"] == steps["mail-check"]["status"] == "interrupted"


def test_reference_journal_folds_like_the_report_sees_it() -> None:
    body = state_json(_fold(reference_events()), 0.0)
    steps = _steps(body)
    assert steps["promote-core-db"]["attempt"] == 2 and steps["promote-core-db"]["status"] == "ok"
    assert steps["mail-up"]["status"] == "timeout"
    systems = {s["id"]: s for s in body["systems"]}
    assert systems["core-individual"]["rto_achieved"] == 10800.0 and systems["core-individual"]["rto_met"]
    assert systems["mail"]["breached"] is True  # the run ended without recovering it
    assert body["run"]["status"] == "failed" and body["run"]["finished"] is True


def test_tail_reads_only_whole_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    records = live_events()
    write_lines(path, records[:3])
    tail = JournalTail(path)
    assert [r["seq"] for r in tail.read_new()] == [0, 1, 2]
    assert tail.read_new() == []
    line = json.dumps(records[3], ensure_ascii=False)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line[:20])  # a line being written
    assert tail.read_new() == []
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line[20:] + "\nnot json\n")
    assert [r["seq"] for r in tail.read_new()] == [3]
    path.write_text("", encoding="utf-8")  # cut back
    assert tail.read_new() == []
