"""What the notifier tells, folded from journal records with a clock the test holds (no I/O)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bcdrill.common.timestamps import utc_ts
from bcdrill.listeners.notify import route
from bcdrill.listeners.notify.tracker import Tracker
from bcdrill.scenario.model import NotifyChannel, Pos

START = 1_800_000_000.0  # the wall clock at t = 0


def step(
    sid: str, *, needs: tuple[str, ...] = (), expect: float | None = None, **extra: Any
) -> dict[str, Any]:
    return {"id": sid, "title": None, "needs": list(needs), "expect": expect, "rollback": False, **extra}


SNAPSHOT = {
    "title": "年度演练 / annual drill",
    "timezone": "UTC",
    "teams": {"ops": {"title": "Ops"}, "tech": {"title": "IT"}},
    "systems": {"core": {"title": "Core", "rto": 600.0}},
    "steps": [
        step("declare", team="ops", kind="manual", declares=True, prompt="declare the disaster"),
        step("promote", needs=("declare",), expect=300.0, team="tech", kind="run"),
        step("core-up", needs=("promote",), expect=60.0, team="tech", kind="check", recovers=["core"]),
    ],
}


class Drill:
    """Journal records at run times `t`, and the tracker's clock."""

    def __init__(self) -> None:
        self.now = START
        self.tracker = Tracker(console_url="https://drill-room.example:8470", clock=lambda: self.now)

    def record(self, t: float, event: str, **fields: Any) -> list[Any]:
        self.now = START + t
        return self.tracker.apply(
            {"event": event, "t": t, "ts": utc_ts(datetime.fromtimestamp(self.now, timezone.utc)), **fields}
        )

    def tick(self, t: float) -> list[Any]:
        self.now = START + t
        return self.tracker.tick()


def kinds(messages: list[Any]) -> list[str]:
    return [m.kind for m in messages]


def started_drill() -> Drill:
    drill = Drill()
    started = drill.record(0.0, "run.started", snapshot=SNAPSHOT, environment="lab", run_id="r1")
    assert kinds(started) == ["started"]
    return drill


def test_a_waiting_manual_step_pages_its_team_with_the_console_link() -> None:
    drill = started_drill()
    waiting = drill.record(1.0, "step.started", step="declare", attempt=1, kind="manual")
    assert kinds(waiting) == ["waiting"]
    assert waiting[0].team == "ops" and "https://drill-room.example:8470" in (waiting[0].link or "")


def test_the_breach_is_predicted_before_it_happens_then_told_once() -> None:
    drill = started_drill()
    drill.record(1.0, "step.started", step="declare", attempt=1, kind="manual")
    drill.record(10.0, "step.finished", step="declare", attempt=1, status="ok", duration=9.0)
    drill.record(10.0, "clock.declared", step="declare", t0=10.0)
    drill.record(10.0, "step.started", step="promote", attempt=1, kind="run")
    assert drill.tick(100.0) == []  # promote expected at 310, core-up at 370: within 600 s of T0
    # promote still runs at 560: core-up cannot end before 560 + 60 = 620 > T0 + 600
    predicted = drill.tick(560.0)
    assert kinds(predicted) == ["rto_predicted"] and "Core" in predicted[0].title
    assert drill.tick(580.0) == []  # told once
    breached = drill.tick(611.0)
    assert kinds(breached) == ["rto_breached"]
    assert drill.tick(700.0) == []
    drill.record(700.0, "step.finished", step="promote", attempt=1, status="ok", duration=690.0)
    late = drill.record(705.0, "system.recovered", system="core", step="core-up", rto=695.0)
    assert late == []  # the breach was told already


def test_a_failed_step_and_the_end_with_its_verdict() -> None:
    drill = started_drill()
    failed = drill.record(
        5.0, "step.finished", step="promote", attempt=1, status="failed", detail="exit code 3"
    )
    assert kinds(failed) == ["failed"] and failed[0].team == "tech"
    ended = drill.record(6.0, "run.finished", status="aborted", exit_code=3)
    assert kinds(ended) == ["ended"] and "abort" in ended[0].title.lower()


def channel(cid: str, teams: tuple[str, ...] = ()) -> NotifyChannel:
    return NotifyChannel(
        id=cid, platform="webhook", url="http://127.0.0.1/x", pos=Pos("drill.yaml", 1, 1), teams=teams
    )


def test_waiting_goes_to_the_teams_channel_only_and_failures_also_to_the_general_ones() -> None:
    drill = started_drill()
    ops, tech, room = channel("ops", ("ops",)), channel("tech", ("tech",)), channel("room")
    waiting = drill.record(1.0, "step.started", step="declare", attempt=1, kind="manual")[0]
    assert route(waiting, [ops, tech, room]) == [ops]
    assert route(waiting, [tech, room]) == [room]  # no channel of its own: the general one
    failed = drill.record(5.0, "step.finished", step="promote", attempt=1, status="failed", detail="x")[0]
    assert route(failed, [ops, tech, room]) == [tech, room]
