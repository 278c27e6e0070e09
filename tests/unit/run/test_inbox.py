from __future__ import annotations

import json
from pathlib import Path

import pytest

from bcdrill.common.errors import RunDirError, UsageError
from bcdrill.common.redact import Redactor
from bcdrill.record.journal import Journal, read_journal
from bcdrill.run.inbox import consume_ack, read_ack, write_ack
from bcdrill.run.lock import RunLock
from bcdrill.run.notes import add_note, take_notes


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    journal = Journal.create(tmp_path / "journal.jsonl", redactor=Redactor(()))
    journal.append("run.started", scenario="t")
    journal.close()
    return tmp_path


def test_write_read_consume_ack(run_dir: Path) -> None:
    path = write_ack(run_dir, "verify", by="Zhang San", result="fail", note="claims page 500")
    obj = json.loads(path.read_text())
    assert obj["step"] == "verify" and obj["result"] == "fail" and obj["ts"].endswith("Z")
    ack = read_ack(run_dir, "verify")
    assert ack is not None and ack.by == "Zhang San" and ack.result == "fail"
    consume_ack(run_dir, "verify", 1)
    assert read_ack(run_dir, "verify") is None
    assert (run_dir / "acks/used/verify.1.json").exists()
    assert not list((run_dir / "acks").glob(".tmp-*"))


def test_ack_refusals(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        write_ack(run_dir, "s", by=" ")
    with pytest.raises(UsageError):
        write_ack(run_dir, "s", by="x", result="maybe")  # type: ignore[arg-type]
    with pytest.raises(RunDirError, match="not a drill run directory"):
        write_ack(tmp_path / "nope", "s", by="x")


def test_ack_names_a_manual_step_of_the_run_that_has_not_finished(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path / "journal.jsonl", redactor=Redactor(()))
    steps = [
        {"id": "declare", "kind": "manual"},
        {"id": "restore", "kind": "run"},
        {"id": "verify", "kind": "manual"},
    ]
    journal.append("run.started", scenario="t", snapshot={"steps": steps, "rollback": []})
    journal.append("step.finished", step="declare", attempt=1, status="ok", final=True)
    with pytest.raises(UsageError, match="'verify' has not started yet — acknowledge it when the drill"):
        write_ack(tmp_path, "verify", by="x")  # given in advance: not evidence
    journal.append("step.started", step="verify", attempt=1)
    journal.close()
    with pytest.raises(UsageError, match="no step 'verfy' — did you mean 'verify'"):
        write_ack(tmp_path, "verfy", by="x")
    with pytest.raises(UsageError, match="no step 'zzz' — its manual steps are: declare, verify"):
        write_ack(tmp_path, "zzz", by="x")
    with pytest.raises(UsageError, match="'restore' is a run step, not a manual one"):
        write_ack(tmp_path, "restore", by="x")
    with pytest.raises(UsageError, match="'declare' already finished"):
        write_ack(tmp_path, "declare", by="x")
    assert not (tmp_path / "acks").exists()
    assert write_ack(tmp_path, "verify", by="x").is_file()


def test_note_goes_to_the_journal_when_no_runner_holds_the_run(run_dir: Path) -> None:
    result = add_note(run_dir, text="DNS TTL too long", kind="finding", owner="net", by="Li")
    assert "journal line 2 of" in result.where and result.journaled
    note = read_journal(run_dir / "journal.jsonl")[-1]
    assert note["event"] == "note" and note["kind"] == "finding" and note["owner"] == "net"


def test_note_becomes_a_file_while_a_runner_holds_the_run(run_dir: Path) -> None:
    with RunLock(run_dir):
        result = add_note(run_dir, text="observed slow failover", settle=0.2)
    assert "running drill will journal it" in result.where and not result.journaled
    ((_, note),) = take_notes(run_dir)
    assert note["text"] == "observed slow failover" and note["kind"] == "observation"
    with pytest.raises(UsageError, match="note kind"):
        add_note(run_dir, text="x", kind="rumour")


def test_note_inputs_are_checked_before_anything_is_written(run_dir: Path) -> None:
    before = (run_dir / "journal.jsonl").read_bytes()
    with pytest.raises(UsageError, match="--due 'tomorrow': expected a date YYYY-MM-DD"):
        add_note(run_dir, text="fix DNS", kind="action", due="tomorrow")
    with pytest.raises(UsageError, match="--closes A-99: this drill has 0 corrective action"):
        add_note(run_dir, text="done", closes="A-99")
    with pytest.raises(UsageError, match="expected an action id such as A-3"):
        add_note(run_dir, text="done", closes="the DNS one")
    assert (run_dir / "journal.jsonl").read_bytes() == before
    add_note(run_dir, text="fix DNS", kind="action", owner="net", due="2027-03-31")
    add_note(run_dir, text="done", closes="A-1")
    add_note(run_dir, text="closed last year's", closes="20260501T083000Z:A-4")
    assert [r.get("closes") for r in read_journal(run_dir / "journal.jsonl")][-2:] == [
        "A-1",
        "20260501T083000Z:A-4",
    ]


def test_a_note_after_the_run_re_renders_the_reports_in_their_language(run_dir: Path) -> None:
    from bcdrill.render import refresh_reports, write_reports

    write_reports(run_dir, ["json", "md"], lang="zh")
    assert add_note(run_dir, text="切换顺利", kind="observation", by="郑十").journaled
    refresh_reports(run_dir)  # what `drill note` does next
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "切换顺利" in report and "# 演练报告" in report


def _manual_run(tmp_path: Path) -> Journal:
    journal = Journal.create(tmp_path / "journal.jsonl", redactor=Redactor(()))
    steps = [{"id": "verify", "kind": "manual"}]
    journal.append("run.started", scenario="t", snapshot={"steps": steps, "rollback": []})
    return journal


def test_a_re_run_manual_step_can_be_acknowledged(tmp_path: Path) -> None:
    journal = _manual_run(tmp_path)
    journal.append("step.started", step="verify", attempt=1)
    journal.append("step.finished", step="verify", attempt=1, status="failed", final=True)
    journal.append("run.finished", status="aborted", exit_code=3)
    with pytest.raises(UsageError, match=r"already finished \(failed\)"):
        write_ack(tmp_path, "verify", by="x")
    journal.append("run.resumed", rerun=["verify"])  # drill resume --rerun verify
    journal.append("step.started", step="verify", attempt=2)
    journal.close()
    path = write_ack(tmp_path, "verify", by="Li Si")
    assert json.loads(path.read_text())["attempt"] == 2


def test_of_two_acknowledgements_one_wins_and_the_other_is_told(tmp_path: Path) -> None:
    journal = _manual_run(tmp_path)
    journal.append("step.started", step="verify", attempt=1)
    journal.close()
    write_ack(tmp_path, "verify", by="Zhang San")
    with pytest.raises(UsageError, match=r"already acknowledged by Zhang San \(pass\)"):
        write_ack(tmp_path, "verify", by="Li Si", result="fail", note="no")
    consume_ack(tmp_path, "verify", 1)  # the runner took it; the step has not finished yet
    with pytest.raises(UsageError, match="already acknowledged by Zhang San"):
        write_ack(tmp_path, "verify", by="Li Si")


def test_simultaneous_acknowledgements_have_exactly_one_winner(tmp_path: Path) -> None:
    import threading

    for round_ in range(12):
        run = tmp_path / f"r{round_}"
        run.mkdir()
        journal = _manual_run(run)
        journal.append("step.started", step="verify", attempt=1)
        journal.close()
        barrier = threading.Barrier(2)
        results: dict[str, str] = {}

        def ack(
            name: str,
            run: Path = run,
            barrier: threading.Barrier = barrier,
            results: dict[str, str] = results,
        ) -> None:
            barrier.wait()
            try:
                write_ack(run, "verify", by=name)
                results[name] = "won"
            except UsageError as exc:
                results[name] = str(exc)

        threads = [threading.Thread(target=ack, args=(n,)) for n in ("A", "B")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [n for n, r in results.items() if r == "won"]
        assert len(winners) == 1, results
        loser = "B" if winners == ["A"] else "A"
        assert f"by {winners[0]} (pass)" in results[loser] and "not recorded" in results[loser]
        assert json.loads((run / "acks" / "verify.json").read_text())["by"] == winners[0]


def test_a_note_given_while_the_runner_ends_is_journaled_not_lost(run_dir: Path) -> None:
    """The runner has made its last sweep of notes/ but still holds the run for a moment."""
    import threading

    lock = RunLock(run_dir).acquire()
    threading.Timer(0.3, lock.release).start()  # the runner lets the run go without a further sweep
    result = add_note(run_dir, text="seen at the very end", settle=5.0)
    assert result.journaled
    notes = [e for e in read_journal(run_dir / "journal.jsonl") if e["event"] == "note"]
    assert [n["text"] for n in notes] == ["seen at the very end"]
    assert take_notes(run_dir) == []  # and it will not be journaled a second time


def test_an_ack_created_after_the_runner_took_the_winner_is_told_it_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic race: B passes the 'already acknowledged?' check, then A acknowledges and the
    runner moves A's file to acks/used/ before B creates its file (the path is free again)."""
    import bcdrill.run.inbox as inbox

    journal = _manual_run(tmp_path)
    journal.append("step.started", step="verify", attempt=1)
    journal.close()
    checked = inbox._taken_by

    def check_then_lose(run_dir: Path, step: str, attempt: int, since: str) -> str | None:
        seen = checked(run_dir, step, attempt, since)
        monkeypatch.setattr(inbox, "_taken_by", checked)
        write_ack(tmp_path, "verify", by="Zhang San")  # A, while B is between its check and its create
        consume_ack(tmp_path, "verify", 1)  # the runner takes A's acknowledgement
        return seen

    monkeypatch.setattr(inbox, "_taken_by", check_then_lose)
    with pytest.raises(UsageError, match=r"by Zhang San \(pass\).*not recorded"):
        write_ack(tmp_path, "verify", by="Li Si", result="fail")
    assert not (tmp_path / "acks" / "verify.json").exists()  # B's file is withdrawn, nothing pending
    assert json.loads((tmp_path / "acks" / "used" / "verify.1.json").read_text())["by"] == "Zhang San"


def test_a_note_a_killed_runner_never_journaled_is_journaled_by_the_next_drill_note(run_dir: Path) -> None:
    with RunLock(run_dir):  # the runner holds the run, takes no note (it is killed -9 before its sweep)
        left = add_note(run_dir, text="seen before the crash", settle=0.1)
    assert not left.journaled
    result = add_note(run_dir, text="seen after the crash")
    assert result.journaled
    notes = [e for e in read_journal(run_dir / "journal.jsonl") if e["event"] == "note"]
    assert [n["text"] for n in notes] == ["seen before the crash", "seen after the crash"]
    assert f"journal line {notes[1]['seq'] + 1} of" in result.where and take_notes(run_dir) == []
