"""The journal: hash chain, durability contract, reopen, concurrency, and what verify detects."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from journal_fixtures import reference_events, write_lines

from bcdrill.common.errors import RunDirError
from bcdrill.common.redact import Redactor
from bcdrill.record.journal import GENESIS, Journal, read_journal, verify_journal
from bcdrill.verdicts.summary import build_summary


def _journal(tmp_path: Path, n: int = 5) -> Path:
    path = tmp_path / "journal.jsonl"
    with Journal.create(path, redactor=Redactor([])) as j:
        j.append("run.started", scenario="s")
        for i in range(n - 2):
            j.append("step.finished", step=f"s{i}", attempt=1, status="ok", detail="完成")
        j.append("run.finished", status="complete", exit_code=0)
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines), encoding="utf-8")


def test_lines_are_chained_and_hashed_canonically(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    records = read_journal(path)
    assert [r["seq"] for r in records] == [0, 1, 2, 3, 4]
    assert records[0]["prev"] == GENESIS
    for before, after in itertools.pairwise(records):
        assert after["prev"] == before["hash"]
        assert after["t"] >= before["t"]
    for r in records:
        body = {k: v for k, v in r.items() if k != "hash"}
        canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canon.encode()).hexdigest() == r["hash"]
        assert r["ts"].endswith("Z") and len(r["ts"]) == len("2026-05-01T00:30:00.000000Z")
    assert "完成" in path.read_text(encoding="utf-8")  # UTF-8, not \\u escapes
    assert verify_journal(path).ok


def test_append_returns_the_record_as_read_back(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "j.jsonl", redactor=Redactor([])) as j:
        rec = j.append("note", text="x", items=("a", "b"), where=tmp_path)
    assert read_journal(tmp_path / "j.jsonl") == [rec]
    assert rec["items"] == ["a", "b"] and rec["where"] == str(tmp_path)


def test_payload_is_masked_and_envelope_keys_refused(tmp_path: Path) -> None:
    canary = "hunter2-CANARY"
    with Journal.create(tmp_path / "j.jsonl", redactor=Redactor([canary])) as j:
        j.append("step.started", step="a", attempt=1, action={"command": f"mysql -p{canary}"})
        with pytest.raises(ValueError, match="collide"):
            j.append("note", seq=3)
    assert canary not in (tmp_path / "j.jsonl").read_text()


def test_create_refuses_an_existing_journal(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    with pytest.raises(RunDirError, match="already exists"):
        Journal.create(path, redactor=Redactor([]))


def test_reopen_continues_seq_prev_and_t(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    last = read_journal(path)[-1]
    with Journal.reopen(path, redactor=Redactor([])) as j:
        rec = j.append("run.resumed", argv=[], rerun=[], mark_done=[])
    assert rec["seq"] == last["seq"] + 1 and rec["prev"] == last["hash"]
    assert rec["t"] >= last["t"]
    assert verify_journal(path).ok


@pytest.mark.parametrize("cut", ["line", "mid"])
def test_reopen_refuses_a_cut_off_journal(tmp_path: Path, cut: str) -> None:
    path = _journal(tmp_path)
    lines = _lines(path)
    lines[-1] = lines[-1][:-1] if cut == "line" else lines[-1][:40]
    _write(path, lines)
    with pytest.raises(RunDirError, match="line 5"):
        Journal.reopen(path, redactor=Redactor([]))
    with pytest.raises(RunDirError, match="line 5"):
        read_journal(path)


def test_threads_appending_keep_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with Journal.create(path, redactor=Redactor([])) as j:

        def work(n: int) -> None:
            for i in range(50):
                j.append("note", text=f"{n}-{i}" * 50)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    result = verify_journal(path)
    assert result.ok and result.lines == 400, result.message


def test_a_deferred_line_is_written_at_once_and_synced_by_the_next_durable_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bcdrill.record import events as ev
    from bcdrill.record import journal as journal_module

    synced_sizes: list[int] = []  # the file's size at each fdatasync: what it made durable

    def counting_sync(fd: int) -> None:
        synced_sizes.append(os.fstat(fd).st_size)

    monkeypatch.setattr(journal_module, "_sync", counting_sync)
    path = tmp_path / "j.jsonl"
    j = Journal.create(path, redactor=Redactor([]))
    j.append("run.started", scenario="s")
    assert j.synced_seq == 0 and len(synced_sizes) == 1
    deferred = j.write(ev.note(kind="note", text="later"), durable=False)
    assert deferred["seq"] == 1 and j.synced_seq == 0 and len(synced_sizes) == 1  # written, not synced
    assert read_journal(path)[-1] == deferred  # on the file at once (a reader, a kill -9 keep it)
    j.append("note", text="now")  # one sync covers both lines
    assert j.synced_seq == 2 and len(synced_sizes) == 2 and synced_sizes[-1] == path.stat().st_size
    j.sync()  # nothing left to sync: no fdatasync
    assert len(synced_sizes) == 2
    j.write(ev.note(kind="note", text="last"), durable=False)
    j.close()  # closing syncs what was deferred
    assert len(synced_sizes) == 3 and synced_sizes[-1] == path.stat().st_size
    assert verify_journal(path).ok


def test_after_a_write_fails_the_deferred_lines_before_it_are_still_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk: the line that could not be written is cut off, but the step end written just
    before it without its sync must still reach the disk (and the listeners: see test_session)."""
    import errno

    from bcdrill.common.errors import JournalWriteError
    from bcdrill.record import events as ev
    from bcdrill.record import journal as journal_module

    synced_sizes: list[int] = []
    real_sync = journal_module._sync
    monkeypatch.setattr(
        journal_module, "_sync", lambda fd: (synced_sizes.append(os.fstat(fd).st_size), real_sync(fd))
    )
    path = tmp_path / "j.jsonl"
    j = Journal.create(path, redactor=Redactor([]))
    j.append("run.started", scenario="s")
    j.write(ev.note(kind="note", text="deferred"), durable=False)

    def disk_full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module, "_write_all", disk_full)
    with pytest.raises(JournalWriteError, match="No space left on device"):
        j.append("note", text="never written")
    j.sync()
    assert j.synced_seq == 1 and synced_sizes[-1] == path.stat().st_size
    assert [r["text"] for r in read_journal(path)[1:]] == ["deferred"]
    j.close()


def _tamper(path: Path, how: str) -> None:
    lines = _lines(path)
    if how == "edit":
        lines[2] = lines[2].replace("完成", "失败")
    elif how == "remove":
        del lines[2]
    elif how == "reorder":
        lines[2], lines[3] = lines[3], lines[2]
    elif how == "cut-mid":
        lines[2] = lines[2][:30]
        del lines[3:]
    _write(path, lines)


@pytest.mark.parametrize(
    ("how", "bad", "reason"),
    [
        ("edit", 3, "hash does not match"),
        ("remove", 3, "seq is 3, expected 2"),
        ("reorder", 3, "seq is 3, expected 2"),
        ("cut-mid", 3, "not a JSON object"),
    ],
)
def test_verify_names_the_first_bad_line(tmp_path: Path, how: str, bad: int, reason: str) -> None:
    path = _journal(tmp_path, n=8)
    _tamper(path, how)
    result = verify_journal(path)
    assert not result.ok
    assert result.bad_line == bad
    assert reason in result.message and f"line {bad}" in result.message


def test_verify_detects_a_rehashed_edit_by_the_link(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    records = read_journal(path)
    records[1]["detail"] = "forged"
    from bcdrill.record.journal import line_hash

    records[1]["hash"] = line_hash(records[1])
    write_lines(path, records)
    result = verify_journal(path)
    assert (result.ok, result.bad_line) == (False, 3)
    assert "prev does not match" in result.message


def test_verify_detects_lines_cut_off_the_end_by_the_head(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    head = read_journal(path)[-1]["hash"]
    _write(path, _lines(path)[:-2])
    result = verify_journal(path, head=head)
    assert (result.ok, result.bad_line) == (False, 4)
    assert "cut off" in result.message
    assert verify_journal(path).ok  # without a head, a clean prefix is indistinguishable


def test_verify_reads_summary_json_beside_the_journal(tmp_path: Path) -> None:
    events = reference_events()
    path = tmp_path / "journal.jsonl"
    write_lines(path, events)
    (tmp_path / "summary.json").write_text(json.dumps(build_summary(events)))
    assert verify_journal(tmp_path).ok
    write_lines(path, events[:-1])  # run.finished removed: the head is gone
    result = verify_journal(tmp_path)
    assert (result.ok, result.bad_line) == (False, len(events))


def test_verify_summary_says_finished_but_no_run_finished(tmp_path: Path) -> None:
    events = reference_events(finished=False)
    write_lines(tmp_path / "journal.jsonl", events)
    summary: dict[str, Any] = {"journal_head": None, "finished": "2026-05-01T03:53:20.000000Z"}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    result = verify_journal(tmp_path / "journal.jsonl")
    assert not result.ok and "says the run finished" in result.message


def test_verify_last_line_without_newline(tmp_path: Path) -> None:
    path = _journal(tmp_path)
    path.write_bytes(path.read_bytes()[:-1])
    result = verify_journal(path)
    assert (result.ok, result.bad_line) == (False, 5)


def test_verify_empty_journal_is_not_ok(tmp_path: Path) -> None:
    (tmp_path / "journal.jsonl").write_bytes(b"")
    assert not verify_journal(tmp_path / "journal.jsonl").ok


def test_a_known_event_without_its_required_keys_is_refused_by_name(tmp_path: Path) -> None:
    with Journal.create(tmp_path / "journal.jsonl", redactor=Redactor(())) as j:
        j.append("run.started", scenario="t")
        j.append("step.finished", step="a", status="ok")  # no attempt: a writer's bug
        j.append("some.future.event", anything=1)  # unknown events pass through
    with pytest.raises(RunDirError, match=r"line 2: step\.finished line without attempt"):
        read_journal(tmp_path / "journal.jsonl")


def test_a_line_with_a_duplicate_key_is_refused_by_verify_and_readers(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.create(path, redactor=Redactor(())) as j:
        j.append("run.started", scenario="t")
        j.append("step.finished", step="a", attempt=1, status="ok")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # a "status" before the real one: Python keeps the last (the hash still matches), a reader that
    # keeps the first would see "failed"
    lines[1] = lines[1].replace('"status":"ok"', '"status":"failed","status":"ok"', 1)
    path.write_text("".join(lines), encoding="utf-8")
    result = verify_journal(path)
    assert not result.ok and result.bad_line == 2 and "'status' appears twice" in result.message
    with pytest.raises(RunDirError, match="line 2: the key 'status' appears twice"):
        read_journal(path)
