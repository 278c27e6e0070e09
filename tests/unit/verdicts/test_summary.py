"""summary.json: the DESIGN §7 shape and values."""

from __future__ import annotations

import json

from journal_fixtures import reference_events

from bcdrill.verdicts.summary import build_summary

CONTRACT = {
    "scenario",
    "run_id",
    "status",
    "dry_run",
    "started",
    "finished",
    "t0",
    "journal_head",
    "systems",
    "steps",
}
SYSTEM_KEYS = {"rto_target", "rto_achieved", "rto_met", "rpo_target", "rpo_achieved", "rpo_met"}


def test_shape_and_values() -> None:
    events = reference_events()
    s = build_summary(events)
    assert s.keys() >= CONTRACT
    json.dumps(s)  # serialisable
    assert (s["scenario"], s["run_id"], s["status"], s["exit_code"]) == (
        "annual-2026",
        "20260501T003000Z",
        "failed",
        1,
    )
    assert s["dry_run"] is False
    assert s["started"] == "2026-05-01T00:30:00.000000Z" and s["finished"] == "2026-05-01T03:53:20.000000Z"
    assert s["t0"] == "2026-05-01T00:35:00.000000Z"
    assert s["journal_head"] == events[-1]["hash"]
    for entry in s["systems"].values():
        assert entry.keys() >= SYSTEM_KEYS
    assert s["systems"]["mail"]["rto_achieved"] is None and s["systems"]["mail"]["rto_met"] is False
    assert s["systems"]["website"]["rpo_achieved"] is None and s["systems"]["website"]["rpo_met"] is False
    assert s["systems"]["e-sales"]["rto_achieved"] == 5400.0
    assert s["steps"] == {
        "ok": 9, "failed": 0, "timeout": 1, "skipped": 1, "cancelled": 0, "interrupted": 0, "not_run": 0,
    }  # fmt: skip


def test_unfinished_run_has_no_head() -> None:
    s = build_summary(reference_events(finished=False))
    assert s["journal_head"] is None and s["finished"] is None and s["status"] == "running"


def test_dry_run_flag() -> None:
    assert build_summary(reference_events(dry_run=True))["dry_run"] is True
