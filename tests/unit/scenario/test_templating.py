"""Jinja2 rendering: StrictUndefined, shell quoting of command substitutions, the fast path."""

from __future__ import annotations

import pytest

from bcdrill.scenario.templating import TemplateProblem, Templater

T = Templater({"site": "dr.example", "evil": "$(rm -rf /); echo", "n": 3, "hosts": {"db": "10.0.0.5"}})


def test_plain_text_is_returned_as_is() -> None:
    assert T.render("no template here") == "no template here"


@pytest.mark.parametrize(
    ("text", "shell", "expected"),
    [
        ("https://{{ site }}/x", False, "https://dr.example/x"),
        ("{{site}}{{ n }}", False, "dr.example3"),
        ("echo {{ evil }}", True, "echo '$(rm -rf /); echo'"),
        ("echo {{ evil }}", False, "echo $(rm -rf /); echo"),
        ("ping {{ hosts.db }}", True, "ping 10.0.0.5"),  # Jinja2 path, still quoted (nothing to quote)
        ("echo {{ evil | upper }}", True, "echo '$(RM -RF /); ECHO'"),
        ("{% if n > 2 %}big{% endif %}", False, "big"),
    ],
)
def test_render(text: str, shell: bool, expected: str) -> None:
    assert T.render(text, shell=shell) == expected


def test_fast_path_matches_jinja2() -> None:
    fast = T.render("a {{ site }} b {{ evil }}", shell=True)
    slow = T.shell.from_string("a {{ site }} b {{ evil }}").render(T.vars)
    assert fast == slow


def test_undefined_variable_with_suggestion() -> None:
    with pytest.raises(
        TemplateProblem,
        match=r"^undefined variable 'sit' — define it under vars: or pass --var sit=VALUE "
        r"\(or did you mean 'site'\?\)$",
    ):
        T.render("{{ sit }}")
    with pytest.raises(TemplateProblem, match=r"define it under vars: or pass --var zzz=VALUE$"):
        T.render("x {{ zzz | upper }}")


def test_syntax_error_is_a_problem() -> None:
    with pytest.raises(TemplateProblem, match="template syntax error"):
        T.render("{{ site ")


def test_sandbox_blocks_python_internals() -> None:
    with pytest.raises(TemplateProblem):
        T.render("{{ site.__class__.__mro__[1].__subclasses__() }}")


def test_evaluate_expression() -> None:
    assert T.evaluate("n > 2 and site == 'dr.example'") is True
    with pytest.raises(TemplateProblem, match="undefined variable 'nope'"):
        T.evaluate("nope")
