"""A substituted value can never inject shell syntax: quoted contexts are refused at validation, every
other context runs the value as one literal word (checked with a real /bin/sh)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bcdrill.common.errors import ScenarioError
from bcdrill.scenario.loader import parse_scenario
from bcdrill.scenario.templating import Templater

PAYLOADS = [
    "$(touch {m})",
    "`touch {m}`",
    "; touch {m}",
    "&& touch {m}",
    "| touch {m}",
    "|| touch {m}",
    "& touch {m}",
    "\ntouch {m}",
    "' ; touch {m}; '",
    '" ; touch {m}; "',
    "'$(touch {m})'",
    '"$(touch {m})"',
    "\\'; touch {m} #",
    '\\"; touch {m} #',
    "$(touch {m}) #",
    "a b; touch {m}",
    "${{IFS}}touch${{IFS}}{m}",
    "*",
    "~",
    "$HOME",
    "> {m}",
    "< /etc/passwd",
    "{m}`",
    "$((1+1))",
    "$'\\x3btouch {m}'",
    "\\\n touch {m}",
    "-e touch {m}",
    "'\"`$();|&<>",
]
ALLOWED = ["printf %s {{ x }}", "printf %s $(printf %s {{ x }})", 'printf %s "$(printf %s {{ x }})"']
REFUSED = [
    "printf %s '{{ x }}'",
    'printf %s "{{ x }}"',
    'printf %s "a {{ x }} b"',
    "printf %s 'a'\"{{ x }}\"",
]


@pytest.mark.parametrize("context", ALLOWED)
@pytest.mark.parametrize("template", PAYLOADS)
def test_a_value_is_one_literal_word(tmp_path: Path, context: str, template: str) -> None:
    marker = tmp_path / "INJECTED"
    value = template.format(m=marker)
    command = Templater({"x": value}).render(context, shell=True)
    out = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, cwd=tmp_path, timeout=10)
    assert not marker.exists(), command
    if "$(" not in context:  # (a command substitution's output is split into words by the shell)
        assert out.stdout == value, command


@pytest.mark.parametrize("context", REFUSED)
def test_a_template_inside_quotes_is_refused_with_the_fix(context: str) -> None:
    head = "version: 1\nname: q\ntitle: q\nenvironment: lab\nsystems: {}\nvars: {x: a}\n"
    text = f"{head}steps:\n  - id: s\n    run: {json.dumps(context)}\n"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text.encode(), "q.yaml", Path("."))
    (problem,) = info.value.problems
    assert problem.line == 9
    assert "{{ x }} is inside quotes in a shell command — remove the quotes around it" in problem.message
