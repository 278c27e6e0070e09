"""Secret values never survive the Redactor; short values are reported, not masked."""

from __future__ import annotations

import html
import json
import shlex
import urllib.parse
from pathlib import Path

import pytest

from bcdrill.common.redact import MASK, Redactor


def test_masks_every_occurrence_longest_first() -> None:
    r = Redactor(["abc", "abcdef"])
    assert r.mask("x abcdef y abc z") == f"x {MASK} y {MASK} z"


def test_masks_recursively_keys_and_values() -> None:
    canary = "CANARY-9f3b"
    r = Redactor([canary])
    obj = {"cmd": f"login -p {canary}", "env": [{"PW": canary}], canary: 1, "n": 3, "t": (canary, None)}
    masked = r.mask_obj(obj)
    assert canary not in repr(masked)
    assert masked["env"] == [{"PW": MASK}]
    assert masked["n"] == 3
    assert masked["t"] == [MASK, None]
    assert obj["cmd"].endswith(canary)  # the input is not modified


def test_regex_metacharacters_are_literal() -> None:
    r = Redactor(["a.b*c"])
    assert r.mask("a.b*c aXbbc") == f"{MASK} aXbbc"


def test_short_and_empty_values_are_not_masked_but_reported() -> None:
    r = Redactor(["", "ab", "secret"])
    assert r.mask("ab secret") == f"ab {MASK}"
    assert r.too_short == ("ab",)


def test_no_secrets_is_identity() -> None:
    r = Redactor([])
    obj = {"a": ["b"]}
    assert r.mask_obj(obj) is obj
    assert not r.active


SECRET = "Tok\"Dq\\Bs-ö9'x$y"
KEYFILE = "-----BEGIN KEY-----\nQUJDREVGR0hJSktMTU5PUA==\nUVJTVFVWV1hZWmFiY2RlZg==\n-----END KEY-----\n"


@pytest.mark.parametrize(
    "shown",
    [
        SECRET,
        json.dumps(SECRET),
        json.dumps(SECRET, ensure_ascii=False),
        repr(SECRET),
        shlex.quote(SECRET),
        html.escape(SECRET),
        html.escape(SECRET, quote=False),
        urllib.parse.quote(SECRET, safe=""),
        urllib.parse.quote_plus(SECRET),
        json.dumps({"msg": f"bad token {SECRET}"}),
    ],
)
def test_every_form_a_secret_takes_is_masked(shown: str) -> None:
    masked = Redactor([SECRET]).mask(f"before {shown} after")
    for piece in ("Tok", "Bs-ö9", "x$y", "B\\u00f6"):
        assert piece not in masked, masked


def test_each_line_of_a_multi_line_secret_is_masked() -> None:
    r = Redactor([KEYFILE])
    for line in KEYFILE.splitlines():
        assert line not in r.mask(f"ssh said: {line}\n")
    assert "QUJDREVG" not in r.mask(json.dumps({"key": KEYFILE}))


def test_a_validation_message_never_quotes_a_secret(tmp_path: Path) -> None:
    from bcdrill.common.errors import ScenarioError
    from bcdrill.scenario.loader import parse_scenario

    head = "version: 1\nname: f\ntitle: f\nenvironment: lab\nsystems: {}\n"
    text = head + 'steps:\n  - {id: a, run: "true", timeout: "{{ db_password }}"}\n'
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text.encode(), "f.yaml", tmp_path, cli_vars={"db_password": SECRET})
    message = str(info.value.problems[0])
    assert "got '***'" in message and "Tok" not in message
