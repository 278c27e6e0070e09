"""SIGTERM while the reports are written: exit 3, and `drill resume` or `drill report` makes them later."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from journal_fixtures import reference_events, write_lines

import bcdrill.render
from bcdrill.cli.main import main
from bcdrill.cli.runs import report_run
from bcdrill.record.journal import read_journal
from bcdrill.run.request import RunResult


@pytest.fixture
def finished_run(tmp_path: Path) -> Path:
    events = reference_events()
    assert events[-1]["event"] == "run.finished"
    events[-1] = {**events[-1], "status": "complete"}  # ended, exit 1 (a step failed): nothing to resume
    write_lines(tmp_path / "journal.jsonl", events)
    return tmp_path


def test_sigterm_while_writing_the_reports_exits_3_and_resume_makes_them(
    finished_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = bcdrill.render.write_reports

    def killed_midway(*args: Any, **kwargs: Any) -> list[Path]:
        os.kill(os.getpid(), signal.SIGTERM)  # `kill <pid>` from another terminal, mid-rendering
        return real(*args, **kwargs)

    monkeypatch.setattr(bcdrill.render, "write_reports", killed_midway)
    assert report_run(RunResult(0, finished_run), "en") == 3
    assert "interrupted while writing the reports" in capsys.readouterr().err
    assert not (finished_run / "report.html").exists()
    monkeypatch.setattr(bcdrill.render, "write_reports", real)
    code = main(["resume", str(finished_run)])
    events = read_journal(finished_run / "journal.jsonl")
    expected = next(e["exit_code"] for e in events if e["event"] == "run.finished")
    assert code == expected
    for name in ("report.html", "report.md", "summary.json", "junit.xml"):
        assert (finished_run / name).is_file(), name
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
