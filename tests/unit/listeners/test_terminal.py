"""TerminalListener: the live lines on stderr."""

from __future__ import annotations

import io

from bcdrill.listeners.terminal import TerminalListener


def test_a_missed_target_is_not_shown_as_a_success() -> None:
    out = io.StringIO()
    console = TerminalListener(out)
    snapshot = {"systems": {"a": {"rto": 2.0, "rpo": 3600.0}, "b": {"rto": 10.0, "rpo": None}, "c": {}}}
    ts = "2026-05-01T09:00:00.000000Z"
    for record in (
        {"event": "run.started", "ts": ts, "scenario": "s", "snapshot": snapshot},
        {"event": "system.recovered", "ts": ts, "system": "a", "rto": 3.04},
        {"event": "system.recovered", "ts": ts, "system": "b", "rto": 1.0},
        {"event": "system.recovered", "ts": ts, "system": "c", "rto": 5.0},
        {"event": "system.rpo", "ts": ts, "system": "a", "rpo": 600.5},
    ):
        console.on_event(record)
    assert out.getvalue().splitlines()[1:] == [
        "09:00:00   ✘ a recovered, RTO 3.0s — target 2.0s missed",
        "09:00:00   ✔ b recovered, RTO 1.0s (target 10.0s)",
        "09:00:00   ✔ c recovered, RTO 5.0s",
        "09:00:00   ✔ a RPO 10m 00.5s (target 1h 00m 00s)",
    ]


def test_a_manual_step_waiting_for_drill_ack_says_how_to_confirm_it() -> None:
    snapshot = {"steps": [{"id": "verify", "kind": "manual"}, {"id": "restore", "kind": "run"}]}
    ts = "2026-05-01T09:00:00.000000Z"
    started = {"event": "run.started", "ts": ts, "scenario": "s", "snapshot": snapshot, "run_dir": "/runs/r1"}
    lines = []
    for extra in ({}, {"auto_ack": True}):
        out = io.StringIO()
        console = TerminalListener(out)
        console.on_event({**started, **extra})
        console.on_event({"event": "step.started", "ts": ts, "step": "restore", "attempt": 1})
        console.on_event({"event": "step.started", "ts": ts, "step": "verify", "attempt": 1})
        lines.append(out.getvalue().splitlines()[1:])
    assert lines[0] == [
        "09:00:00   → restore",
        "09:00:00   → verify — waiting for: drill ack /runs/r1 verify --by NAME [--fail] [--note TEXT]",
    ]
    assert lines[1] == ["09:00:00   → restore", "09:00:00   → verify"]


def test_after_resume_the_waiting_hint_follows_the_resume_options() -> None:
    snapshot = {"steps": [{"id": "verify", "kind": "manual"}]}
    ts = "2026-05-01T09:00:00.000000Z"
    out = io.StringIO()
    console = TerminalListener(out)
    # the run was started with --auto-ack; `drill resume` without it, and without a terminal
    console.on_event(
        {
            "event": "run.started",
            "ts": ts,
            "scenario": "s",
            "snapshot": snapshot,
            "run_dir": "/runs/r1",
            "auto_ack": True,
        }
    )
    console.on_event({"event": "run.resumed", "ts": ts, "auto_ack": False, "interactive": False})
    console.on_event({"event": "step.started", "ts": ts, "step": "verify", "attempt": 2})
    assert "waiting for: drill ack /runs/r1 verify --by NAME" in out.getvalue()
