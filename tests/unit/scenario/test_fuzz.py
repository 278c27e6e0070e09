"""Hostile and mutated scenarios: validation always ends in a Scenario or a FILE:LINE:COL problem list,
never an exception of another kind, a hang or unbounded memory (Hypothesis, derandomized in CI)."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bcdrill.common.errors import ScenarioError
from bcdrill.scenario.loader import parse_scenario

ROOT = Path(__file__).resolve().parents[3]
SEEDS = [*sorted(ROOT.glob("scenarios/*.yaml")), Path(__file__).parent / "fixtures/loader/valid_full.yaml"]
HOSTILE = [
    ".nan",
    ".inf",
    "-.inf",
    "1e400",
    "-1",
    "{}",
    "[]",
    "null",
    "~",
    "true",
    "''",
    "*nope",
    "&a x",
    "'{{ 9 ** (9 ** 9) }}'",
    "\"{{ 'x' * 10000000000 }}\"",
    "'{{ range(10**10) | list }}'",
    "'{{ undefined_thing }}'",
    "'{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}'",
    "1" + "0" * 100,
    "[" * 300 + "]" * 300,
    "'" + "a" * 300 + ".yml'",
    '"\\0"',
    "!!python/object:os.system x",
    "2026-13-45T99:99:99",
    "{until: 5}",
    "{every: 0s, within: .inf}",
    "'😀' ",
    "\t",
    "- - -",
]
BUDGET_SECONDS = 10.0


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["value", "delete", "duplicate", "cut", "insert"]))
        i = data.draw(st.integers(0, max(0, len(lines) - 1)))
        if not lines:
            break
        if kind == "value" and ":" in lines[i]:
            head = lines[i].split(":", 1)[0]
            lines[i] = f"{head}: {data.draw(st.sampled_from(HOSTILE))}"
        elif kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
        else:
            lines.insert(i, data.draw(st.text(max_size=40)))
    return "\n".join(lines) + "\n"


@settings(
    max_examples=int(os.environ.get("BCDRILL_FUZZ_EXAMPLES", "150")),
    deadline=None,  # a bound of our own below, generous for a loaded CI machine
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_a_mutated_scenario_is_valid_or_a_list_of_problems(seed: Path, data: st.DataObject) -> None:
    text = _mutate(seed.read_text(encoding="utf-8"), data)
    start = time.monotonic()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        parse_scenario(text.encode("utf-8", "surrogatepass"), str(seed), seed.parent)
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError names at least one problem"
        for problem in exc.problems:
            assert problem.line >= 1 and problem.col >= 1 and problem.message
    assert time.monotonic() - start < BUDGET_SECONDS
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 512 * 1024  # KB: < 512 MB more


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_hostile_value_in_every_duration_and_action_slot(hostile: str) -> None:
    for slot in ("timeout", "expect", "retry_delay", "wait", "run", "when", "retries"):
        step = f"  - {{id: a, {slot}: {hostile}}}" if slot != "wait" else f"  - id: a\n    wait: {hostile}"
        if slot not in ("wait", "run"):
            step = f"  - id: a\n    run: 'true'\n    {slot}: {hostile}"
        text = f"version: 1\nname: f\ntitle: f\nenvironment: lab\nsystems: {{}}\nsteps:\n{step}\n"
        start = time.monotonic()
        try:
            parse_scenario(text.encode(), "f.yaml", Path("."))
        except ScenarioError as exc:
            assert all(p.line >= 1 for p in exc.problems)
        assert time.monotonic() - start < BUDGET_SECONDS, (slot, hostile)


def _problems(text: str) -> list[str]:
    try:
        parse_scenario(text.encode(), "f.yaml", Path("."))
    except ScenarioError as exc:
        return [str(p) for p in exc.problems]
    return []


HEAD = "version: 1\nname: f\ntitle: f\nenvironment: lab\nsystems: {}\n"


def test_a_billion_laughs_is_refused_at_once() -> None:
    lines = ['  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.monotonic()
    problems = _problems(HEAD + "vars:\n" + "\n".join(lines) + "\nsteps:\n  - {id: s, run: 'true'}\n")
    assert time.monotonic() - start < 2.0
    assert any("more than 2,000,000 values once its aliases" in p for p in problems), problems


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    problems = _problems(HEAD + "steps:\n  - {id: s, run: 'true', x: " + "[" * 600 + "]" * 600 + "}\n")
    assert any("nested more than 64 levels deep" in p for p in problems), problems


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (".nan", "a duration must be a finite number of seconds, got nan"),
        (".inf", "a duration must be a finite number of seconds, got inf"),
        ("1" + "0" * 100, "a duration of at most 366d is accepted"),
        ("{}", "missing required key 'until'"),
    ],
)
def test_wait_values_that_cannot_be_waited(value: str, message: str) -> None:
    problems = _problems(HEAD + f"steps:\n  - id: s\n    wait: {value}\n")
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 9 ** (9 ** 9) }}", "too big a power"),
        ("{{ 'x' * 10000000000 }}", "makes it too long"),
        ("{{ 'x' | center(10000000000) }}", "is too wide"),
        ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", "loop at most"),
    ],
)
def test_template_bombs_are_refused_before_the_work(template: str, message: str) -> None:
    start = time.monotonic()
    problems = _problems(HEAD + f'steps:\n  - {{id: s, run: "echo {template}"}}\n')
    assert time.monotonic() - start < 2.0
    assert any(message in p for p in problems), problems
