"""The AWX transport's pure parts: the event cursor, the launch checks and the controller's reasons."""

# ruff: noqa: E501 - expected messages are compared verbatim

from __future__ import annotations

from bcdrill.executors.transport.awx import reasons
from bcdrill.executors.transport.awxlaunch import LaunchSpec, launch_body, launch_problems
from bcdrill.executors.transport.awxwatch import EventCursor

OPEN = {
    "ask_variables_on_launch": True,
    "ask_limit_on_launch": True,
    "ask_tags_on_launch": True,
    "ask_job_type_on_launch": True,
    "ask_inventory_on_launch": True,
    "survey_enabled": False,
    "variables_needed_to_start": [],
    "passwords_needed_to_start": [],
    "inventory_needed_to_start": False,
}


def test_events_saved_out_of_order_are_each_handed_on_once() -> None:
    cursor = EventCursor()
    assert [c for c in (1, 2, 4, 5) if cursor.take(7, c)] == [1, 2, 4, 5]
    assert cursor.after(7) == 2  # 3 is missing: the next look asks again from 3
    assert [c for c in (3, 4, 5, 6) if cursor.take(7, c)] == [3, 6]
    assert cursor.after(7) == 6
    assert cursor.after(8) == 0 and cursor.take(8, 1)  # each job has its own counters


def test_a_template_that_prompts_for_everything_takes_the_step_as_written() -> None:
    spec = LaunchSpec("t", inventory="DR", limit="dr", extra_vars={"a": 1}, job_tags=("x", "y"), check=True)
    assert launch_problems(OPEN, spec) == []
    assert launch_body(spec, 3) == {
        "extra_vars": {"a": 1},
        "inventory": 3,
        "limit": "dr",
        "job_tags": "x,y",
        "job_type": "check",
    }
    assert launch_body(LaunchSpec("t"), None) == {}


def test_what_the_template_would_ignore_or_needs_is_said_before_launch() -> None:
    closed = {**OPEN, "ask_limit_on_launch": False, "ask_variables_on_launch": False}
    closed.update(variables_needed_to_start=["confirm_site"], passwords_needed_to_start=["ssh_password"])
    problems = launch_problems(closed, LaunchSpec("t", limit="dr", extra_vars={"a": 1}))
    assert problems == [
        "the job template does not prompt for Limit on launch (ask_limit_on_launch is false), so limit would "
        "be ignored — tick 'Prompt on launch' for Limit in the template, or remove limit",
        "the template takes no extra variables at launch (no 'Prompt on launch' for Variables, no survey), "
        "so extra_vars would be ignored — enable one of them, or remove extra_vars",
        "the template needs confirm_site to start (survey questions without a default) — add it under extra_vars",
        "the template's credentials ask for passwords at launch (ssh_password) — bcdrill never sends "
        "credential secrets: store them in the credential in AWX",
    ]
    survey = {**closed, "survey_enabled": True, "passwords_needed_to_start": []}
    assert launch_problems(survey, LaunchSpec("t", extra_vars={"confirm_site": "dr"})) == []


def test_the_controllers_reasons_fit_on_one_line() -> None:
    assert reasons({"variables_needed_to_start": ["'a' value missing", "'b' value missing"]}) == (
        "variables_needed_to_start: 'a' value missing; 'b' value missing"
    )
    assert reasons({"detail": "Invalid token."}) == "Invalid token."
    assert reasons("<html>\n  Bad   Gateway </html>") == "<html> Bad Gateway </html>"
    assert reasons(None) == "no reason given"
