"""RTO/RPO evaluation over fixture journals, data timestamps, and the per-step view."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from journal_fixtures import JournalBuilder, reference_events

from bcdrill.verdicts.rto import evaluate, parse_data_timestamp, rpo_seconds
from bcdrill.verdicts.timeline import step_runs


def test_reference_drill_verdicts_and_margins() -> None:
    ev = evaluate(reference_events())
    assert ev.t0 == 300.0 and ev.t0_ts == "2026-05-01T00:35:00.000000Z" and ev.t0_step == "declare"
    core, esales, web, mail = (ev.systems[s] for s in ("core-individual", "e-sales", "website", "mail"))
    assert (core.rto_achieved, core.rto_met, core.rto_margin, core.rto_status) == (
        10800.0,
        True,
        3600.0,
        "met",
    )
    assert (core.rpo_achieved, core.rpo_met, core.rpo_margin, core.rpo_status) == (900.0, True, 900.0, "met")
    assert (esales.rto_met, esales.rto_margin, esales.rto_status) == (False, -1800.0, "missed")
    assert (esales.rpo_met, esales.rpo_margin, esales.rpo_status) == (False, -300.0, "missed")
    assert (web.rpo_achieved, web.rpo_met, web.rpo_status) == (None, False, "unmeasured")
    assert (mail.rto_achieved, mail.rto_met, mail.rto_margin, mail.rto_status) == (
        None,
        False,
        None,
        "not-achieved",
    )
    assert (mail.rpo_met, mail.rpo_status) == (None, "no-target")
    assert core.title == "个险核心系统" and core.tier == 1 and core.recovered_by == "core-up"
    assert not ev.all_met


def _plain_run(declare: bool) -> list[dict[str, object]]:
    b = JournalBuilder()
    systems = {"a": {"id": "a", "title": "A", "tier": 1, "rto": 60.0, "rpo": None}}
    steps = [{"id": "up", "declares": False}]
    b.add("run.started", 0.0, scenario="x", run_id="r", snapshot={"systems": systems, "steps": steps})
    if declare:
        b.add("clock.declared", 10.0, step="d", t0=10.0, t0_ts=b.ts(10.0))
    b.add("system.recovered", 50.0, system="a", step="up", rto=50.0 - (10.0 if declare else 0.0))
    b.add("system.recovered", 70.0, system="a", step="up2", rto=999.0)  # only the first counts
    return b.records


def test_t0_is_run_start_without_a_declaring_step() -> None:
    ev = evaluate(_plain_run(declare=False))
    assert ev.t0 == 0.0 and ev.t0_ts == "2026-05-01T00:30:00.000000Z" and ev.t0_step is None
    assert ev.systems["a"].rto_achieved == 50.0 and ev.systems["a"].rto_margin == 10.0
    assert ev.systems["a"].recovered_by == "up"


def test_exact_target_is_met() -> None:
    ev = evaluate(_plain_run(declare=True))
    assert ev.systems["a"].rto_achieved == 40.0
    b = JournalBuilder()
    b.add("run.started", 0.0, snapshot={"systems": {"a": {"rto": 40.0}}})
    b.add("system.recovered", 40.0, system="a", step="up", rto=40.0)
    assert evaluate(b.records).systems["a"].rto_met is True


def test_no_events_at_all() -> None:
    ev = evaluate([])
    assert ev.systems == {} and ev.t0 is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-05-01T08:30:00Z", datetime(2026, 5, 1, 8, 30, tzinfo=timezone.utc)),
        ("2026-05-01T16:30:00+08:00", datetime(2026, 5, 1, 8, 30, tzinfo=timezone.utc)),
        ("2026-05-01 08:30:00.250", datetime(2026, 5, 1, 8, 30, 0, 250000, tzinfo=timezone.utc)),
        (1777624200, datetime(2026, 5, 1, 8, 30, tzinfo=timezone.utc)),
        ("1777624200.5", datetime(2026, 5, 1, 8, 30, 0, 500000, tzinfo=timezone.utc)),
        (" 1777624200\n", datetime(2026, 5, 1, 8, 30, tzinfo=timezone.utc)),
    ],
)
def test_parse_data_timestamp(value: str | float, expected: datetime) -> None:
    parsed = parse_data_timestamp(value)
    assert parsed == expected and parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value", ["", "yesterday", "2026-13-01T00:00:00Z", "1777624200000", True, float("nan")]
)
def test_parse_data_timestamp_rejects(value: str | float) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        parse_data_timestamp(value)


def test_rpo_seconds() -> None:
    data = parse_data_timestamp("2026-05-01T00:20:00Z")
    assert rpo_seconds("2026-05-01T00:35:00.000000Z", data) == 900.0
    assert rpo_seconds("2026-05-01T00:35:00.000000Z", parse_data_timestamp("2026-05-01T00:35:01Z")) == -1.0


def test_step_runs_attempts_acks_and_statuses() -> None:
    runs = {r.id: r for r in step_runs(reference_events())}
    promote = runs["promote-core-db"]
    assert [a.status for a in promote.attempts] == ["failed", "ok"]
    assert promote.status == "ok" and promote.deviation
    assert promote.duration == pytest.approx(179.5) and "#1 failed: promote.sh" in promote.history
    declare = runs["declare"]
    assert [(a.by, a.result, a.via) for a in declare.acks] == [("张三", "pass", "terminal")]
    assert runs["mail-up"].status == "timeout" and runs["archive"].status == "skipped"
    assert runs["archive"].attempts == [] and runs["archive"].deviation
    assert not runs["isolate"].deviation
    assert "rollback-core" not in runs  # a rollback step that never ran is not listed


def test_step_started_without_end_is_interrupted_once_the_run_says_so() -> None:
    events = reference_events(finished=False)
    b = JournalBuilder()
    b.records = list(events)
    b.add("step.started", 12300.0, step="rollback-core", attempt=1, kind="run", action={}, rollback=True)
    assert {r.id: r for r in step_runs(b.records)}["rollback-core"].status == "running"
    b.add("run.interrupted", 12400.0, reason="SIGINT", in_flight=["rollback-core"])
    run = {r.id: r for r in step_runs(b.records)}["rollback-core"]
    assert run.status == "interrupted" and run.rollback
