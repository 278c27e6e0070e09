"""`drill verify` checks the step logs against the digests the journal recorded, not only the chain."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCENARIO = """\
version: 1
name: verify-logs
title: 日志校验 / log digests
environment: lab
systems: {app: {rto: 1m}}
steps:
  - {id: work, run: "echo did the work", systems: [app]}
  - {id: up, check: {command: {command: "echo UP", contains: UP}}, recovers: [app]}
"""


def drill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    result = drill("run", str(scenario), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    return tmp_path / "run"


def test_intact_run_verifies(run_dir: Path) -> None:
    result = drill("verify", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert "step logs match the digests in the journal" in result.stdout


def test_an_edited_log_is_named(run_dir: Path) -> None:
    log = run_dir / "logs" / "work.log"
    log.write_text(log.read_text().replace("did the work", "did other work"))
    result = drill("verify", str(run_dir))
    assert result.returncode == 1
    assert f"{log}: ALTERED: differs from the SHA-256 the journal recorded" in result.stderr


def test_a_removed_log_is_named(run_dir: Path) -> None:
    (run_dir / "logs" / "work.log").unlink()
    result = drill("verify", str(run_dir))
    assert result.returncode == 1
    assert "work.log: ALTERED: missing" in result.stderr


def test_notes_added_after_the_run_are_covered(run_dir: Path) -> None:
    note = drill(
        "note", str(run_dir), "--kind", "evaluation", "--text", "目标达成 / objectives met", "--by", "郑十"
    )
    assert note.returncode == 0, note.stderr
    assert drill("verify", str(run_dir)).returncode == 0
    assert "目标达成 / objectives met" in (run_dir / "report.md").read_text(encoding="utf-8")
    journal = run_dir / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:-1]))  # the note removed
    result = drill("verify", str(run_dir))
    assert result.returncode == 1
    assert "that line is gone (lines were removed from the end, e.g. notes)" in result.stderr
