"""Run directories written before the typed events (bcdrill at commit b7d36ee) still verify and render.

`fixtures/legacy-run` is scenarios/quickstart.yaml run with --auto-ack; `fixtures/legacy-resumed` a run
killed (-9) during its `slow` step and resumed. Both were made by that version and committed as made.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bcdrill.record.journal import read_journal
from bcdrill.record.verify import verify_run
from bcdrill.render import DEFAULT_FORMATS, render, write_reports
from bcdrill.verdicts.summary import build_summary

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(params=["legacy-run", "legacy-resumed"])
def legacy(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    run_dir = tmp_path / str(request.param)
    shutil.copytree(FIXTURES / str(request.param), run_dir)
    return run_dir


def test_a_legacy_run_directory_verifies(legacy: Path) -> None:
    ok, message = verify_run(legacy)
    assert ok, message


def test_a_legacy_journal_reads_into_typed_records_and_renders(legacy: Path) -> None:
    events = read_journal(legacy / "journal.jsonl")
    old = json.loads((legacy / "summary.json").read_text(encoding="utf-8"))
    new = build_summary(events)
    for key in ("status", "systems", "steps", "journal_head", "t0"):
        assert new[key] == old[key], key
    for fmt in (*DEFAULT_FORMATS, "md"):
        assert render(events, fmt, "zh")
    written = write_reports(legacy, list(DEFAULT_FORMATS))
    assert {p.name for p in written} == {"report.html", "report.md", "summary.json", "junit.xml"}
    ok, message = verify_run(legacy)  # the new summary.json agrees with the old journal
    assert ok, message


def test_the_resumed_legacy_run_keeps_its_interruption() -> None:
    events = read_journal(FIXTURES / "legacy-resumed" / "journal.jsonl")
    names = [e["event"] for e in events]
    assert "run.resumed" in names
    assert any(e["event"] == "step.finished" and e["status"] == "interrupted" for e in events)


def test_drill_verify_of_a_legacy_run_says_what_it_could_not_compare(
    legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its summary.json was made by an earlier renderer: not compared (not ALTERED), and said so."""
    from bcdrill.cli.main import main

    assert main(["verify", str(legacy)]) == 0, capsys.readouterr().err
    assert (
        "NOT CHECKED: summary.json and the reports were made by an earlier bcdrill" in capsys.readouterr().out
    )


def test_an_edited_scenario_copy_is_found(legacy: Path) -> None:
    scenario = legacy / "scenario.yaml"
    scenario.write_text(scenario.read_text(encoding="utf-8").replace("\n", " \n", 1), encoding="utf-8")
    ok, message = verify_run(legacy)
    assert (
        not ok and "scenario.yaml: ALTERED: differs from the scenario_sha256 the journal recorded" in message
    )
