"""Projected step ends and system recoveries from `expect` and the remaining critical path."""

from __future__ import annotations

from bcdrill.verdicts.projection import StepProgress, critical_chain, project_steps, project_systems

ORDER = ["a", "b", "c", "d"]


def _steps(**over: StepProgress) -> dict[str, StepProgress]:
    steps = {
        "a": StepProgress((), 10.0),
        "b": StepProgress(("a",), 100.0),
        "c": StepProgress(("a",), 30.0),
        "d": StepProgress(("b", "c"), 5.0),
    }
    steps.update(over)
    return steps


def test_nothing_started_projects_the_plan_from_now() -> None:
    ends = project_steps(ORDER, _steps(), now_t=50.0)
    assert ends == {"a": 60.0, "b": 160.0, "c": 90.0, "d": 165.0}


def test_ended_steps_keep_their_end_and_running_ones_end_no_earlier_than_now() -> None:
    steps = _steps(
        a=StepProgress((), 10.0, started_t=0.0, ended_t=12.0, ok=True),
        b=StepProgress(("a",), 100.0, started_t=12.0),
    )
    assert project_steps(ORDER, steps, now_t=50.0)["b"] == 112.0
    assert project_steps(ORDER, steps, now_t=500.0)["b"] == 500.0  # overrunning: ends "now" at best
    assert project_steps(ORDER, steps, now_t=500.0)["d"] == 535.0  # c cannot start before now


def test_a_failed_step_ends_nothing_downstream() -> None:
    steps = _steps(a=StepProgress((), 10.0, started_t=0.0, ended_t=3.0, ok=False))
    ends = project_steps(ORDER, steps, now_t=5.0)
    assert ends == {"a": None, "b": None, "c": None, "d": None}


def test_critical_chain_follows_the_need_that_ends_last_and_stops_at_a_started_step() -> None:
    steps = _steps(a=StepProgress((), 10.0, started_t=0.0))
    ends = project_steps(ORDER, steps, now_t=1.0)
    assert critical_chain("d", steps, ends) == ("a", "b", "d")
    systems = project_systems({"core": "d", "gone": "nope"}, steps, ends)
    assert systems["core"].projected_t == 115.0
    assert systems["gone"].projected_t is None
