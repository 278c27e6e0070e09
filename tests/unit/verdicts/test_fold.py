"""The journal folded line by line gives what the whole list of records gives: the steps, the
history, the chain check, the counts, summary.json and every report, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from journal_fixtures import live_events, reference_events, write_lines

from bcdrill.record.events import STEP_FINISHED, STEP_STARTED, decode
from bcdrill.record.journal import check_chain, iter_journal, read_journal
from bcdrill.render import DEFAULT_FORMATS, Analysis, write_reports
from bcdrill.verdicts.fold import fold
from bcdrill.verdicts.history import run_history
from bcdrill.verdicts.summary import build_summary
from bcdrill.verdicts.timeline import step_runs

FIXTURES = Path(__file__).parent.parent / "record" / "fixtures"


def _journals(tmp_path: Path) -> dict[str, Path]:
    paths = {name: FIXTURES / name / "journal.jsonl" for name in ("legacy-run", "legacy-resumed")}
    made: dict[str, list[dict[str, Any]]] = {
        "reference": reference_events(),
        "unfinished": reference_events(finished=False),
        "dry-run": reference_events(dry_run=True),
        "live": live_events(),
    }
    tampered = reference_events()
    tampered[5] = {**tampered[5], "t": 99.0}  # an edited line: the chain breaks there
    made["tampered"] = tampered
    for name, records in made.items():
        write_lines(tmp_path / f"{name}.jsonl", records)
        paths[name] = tmp_path / f"{name}.jsonl"
    return paths


@pytest.fixture(
    params=["legacy-run", "legacy-resumed", "reference", "unfinished", "dry-run", "live", "tampered"]
)
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return _journals(tmp_path)[str(request.param)]


def test_the_fold_keeps_what_the_whole_journal_says(journal: Path) -> None:
    records = read_journal(journal)
    folded = fold(iter_journal(journal))
    assert folded.runs == step_runs(records)
    assert folded.history == run_history(records)
    assert (folded.chain_ok, folded.bad_line) == check_chain(records)
    assert folded.lines == len(records)
    assert folded.last == records[-1]
    assert folded.max_t == max(float(r["t"]) for r in records)
    assert folded.records == [r for r in records if r["event"] not in (STEP_STARTED, STEP_FINISHED)]
    logs = {
        r["log"]: (r["step"], r.get("log_sha256"))
        for r in records
        if r["event"] == STEP_FINISHED and r.get("log")
    }
    assert {k: (v.step, v.sha256) for k, v in folded.logs.items()} == logs


def test_the_tampered_journal_is_found_broken_at_its_line(tmp_path: Path) -> None:
    folded = fold(iter_journal(_journals(tmp_path)["tampered"]))
    assert (folded.chain_ok, folded.bad_line) == (False, 6)


def test_the_summary_of_the_fold_is_the_summary_of_the_records(journal: Path) -> None:
    records = read_journal(journal)
    assert build_summary(fold(iter_journal(journal))) == build_summary(records)
    assert build_summary(fold(records)) == build_summary(iter(records))


def test_a_legacy_summary_is_made_again_from_the_fold() -> None:
    for name in ("legacy-run", "legacy-resumed"):
        old = json.loads((FIXTURES / name / "summary.json").read_text(encoding="utf-8"))
        new = build_summary(fold(iter_journal(FIXTURES / name / "journal.jsonl")))
        for key in ("status", "systems", "steps", "journal_head", "t0"):
            assert new[key] == old[key], (name, key)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reports_streamed_to_files_are_the_rendered_reports(journal: Path, lang: str, tmp_path: Path) -> None:
    records = [decode(json.loads(line)) for line in journal.read_bytes().splitlines()]
    whole = Analysis(records, lang)
    out = tmp_path / "out"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "journal.jsonl").write_bytes(journal.read_bytes())
    written = write_reports(run_dir, DEFAULT_FORMATS, lang=lang, output=out)
    for fmt, path in zip(DEFAULT_FORMATS, written, strict=True):
        expected = Analysis(records, lang, run_dir=str(run_dir)).render(fmt)
        assert isinstance(expected, str)
        assert path.read_text(encoding="utf-8") == expected, fmt
    assert whole.render("md") == "".join(str(c) for c in whole.chunks("md"))


def test_a_journal_read_without_some_events_is_the_rest_in_order(journal: Path) -> None:
    skip = {STEP_STARTED, STEP_FINISHED, "run.started"}
    records = read_journal(journal)
    assert list(iter_journal(journal, skip=skip)) == [r for r in records if r["event"] not in skip]
