"""Console request files: written whole, taken once (a file still being written is never taken)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bcdrill.common.errors import UsageError
from bcdrill.run.notes import take_notes
from bcdrill.run.requests import (
    Actor,
    mark_request_done,
    pending_requests,
    safe_file_name,
    store_evidence,
    write_request,
)

BOSS = Actor("张三", "drill commander", "tech", "10.0.0.7")


def test_requests_are_taken_oldest_first_and_once(tmp_path: Path) -> None:
    first = write_request(tmp_path, "hold", BOSS, reason="wait")
    second = write_request(tmp_path, "retry", BOSS, step="promote", reason="fixed")
    taken = pending_requests(tmp_path)
    assert [r["id"] for _, r in taken] == [first["id"], second["id"]]
    assert taken[0][1]["client"] == "10.0.0.7" and taken[0][1]["via"] == "console"
    assert [r["action"] for _, r in pending_requests(tmp_path, ("retry",))] == ["retry"]
    mark_request_done(taken[0][0])
    assert [r["id"] for _, r in pending_requests(tmp_path)] == [second["id"]]
    with pytest.raises(UsageError):
        write_request(tmp_path, "explode", BOSS)


def test_a_file_being_written_is_not_taken(tmp_path: Path) -> None:
    for folder in ("requests", "notes"):
        (tmp_path / folder).mkdir()
        whole = {"action": "hold", "by": "x", "text": "t", "kind": "finding"}
        (tmp_path / folder / ".tmp-abc.json").write_text(json.dumps(whole), encoding="utf-8")
    assert pending_requests(tmp_path) == []
    assert take_notes(tmp_path) == []


def test_evidence_is_stored_under_a_safe_name(tmp_path: Path) -> None:
    req = store_evidence(tmp_path, "../verify", "../../etc/passwd", b"data", BOSS)
    stored = tmp_path / req["file"]
    assert stored.read_bytes() == b"data" and tmp_path in stored.resolve().parents
    assert req["file"].startswith("evidence/verify/") and req["file"].endswith("-passwd")
    assert safe_file_name("截图 1.png") == "1.png" and safe_file_name("...") == "file"
    assert safe_file_name("新契约.png") == "file.png" and safe_file_name(".bashrc") == "bashrc"
