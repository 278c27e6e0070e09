"""Secret values never survive the Redactor; short values are reported, not masked."""

from __future__ import annotations

import html
import json
import shlex
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from bcdrill.common.redact import MASK, Redactor, derived_forms


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


def _bash(script: str, value: str) -> str:
    done = subprocess.run(["bash", "-xc", script, "_", value], capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


def _double_quoted(value: str) -> str:
    return '"' + "".join("\\" + c if c in '"\\$`' else c for c in value) + '"'


FORMS_OF_FORMS = {
    "shell double quotes": _double_quoted(SECRET),
    "printf %q": _bash('printf %q "$1"', SECRET),
    "bash -x trace": _bash('true "$1"', SECRET),
    "ascii()": ascii(SECRET),
    "bytes repr": repr(SECRET.encode()),
    "MarkupSafe (Jinja2)": SECRET.replace('"', "&#34;").replace("'", "&#39;"),
    "JSON of shlex.quote": json.dumps(shlex.quote(SECRET)),
    "JSON in JSON": json.dumps(json.dumps(SECRET)),
    "JSON, \\u upper case": json.dumps(SECRET).replace("\\u00f6", "\\u00F6"),
    "HTML of JSON": html.escape(json.dumps(SECRET)),
    "HTML twice": html.escape(html.escape(SECRET)),
    "URL-encoded twice": urllib.parse.quote(urllib.parse.quote(SECRET, safe=""), safe=""),
    "key file with CRLF": KEYFILE.replace("\n", "\r\n"),
    "JSON of the key file with CRLF": json.dumps(KEYFILE.replace("\n", "\r\n")),
}


@pytest.mark.parametrize("name", sorted(FORMS_OF_FORMS))
def test_no_fragment_of_any_escaped_form_survives(name: str) -> None:
    shown = FORMS_OF_FORMS[name]
    masked = Redactor([SECRET, KEYFILE]).mask(f"before {shown} after")
    for piece in ("Tok", "Dq", "Bs", "x$y", "x\\$y", "QUJDREVG", "UVJTVFVW", "BEGIN KEY"):
        assert piece not in masked, (name, masked)
    assert masked.startswith("before ") and masked.endswith(" after"), masked


@pytest.mark.parametrize(
    "escape",
    [
        json.dumps,
        lambda s: json.dumps(s, ensure_ascii=False),
        html.escape,
        shlex.quote,
        lambda s: urllib.parse.quote(s, safe=""),
        repr,
        ascii,
    ],
)
def test_escaping_masked_text_brings_nothing_back(escape: object) -> None:
    assert callable(escape)
    redactor = Redactor([SECRET, KEYFILE])
    shown = [SECRET, *sorted(derived_forms(SECRET)), *KEYFILE.splitlines(), *FORMS_OF_FORMS.values()]
    text = " | ".join(shown)
    again = str(escape(redactor.mask(text)))
    for secret in (SECRET, KEYFILE):
        for form in derived_forms(secret):
            if len(form) >= 3:
                assert form not in again, form
    assert "Dq" not in again


def test_plain_ascii_secrets_and_their_neighbours() -> None:
    r = Redactor(["hunter2-secret", "Pa55word"])
    assert r.mask("u=admin p=hunter2-secret; Pa55words") == f"u=admin p={MASK}; {MASK}s"
    assert r.mask("nothing here") == "nothing here"


def test_a_numeric_piece_of_a_secret_leaves_timestamps_alone() -> None:
    r = Redactor(["Winter'2026"])
    assert r.mask("at 2026-12-05T08:00:00Z the password Winter'2026 and Winter") == (
        f"at 2026-12-05T08:00:00Z the password {MASK} and {MASK}"
    )


def test_the_journal_keeps_its_keys_whatever_a_secret_holds(tmp_path: Path) -> None:
    from bcdrill.record.journal import Journal

    journal = Journal.create(tmp_path / "journal.jsonl", redactor=Redactor(["x'status", "step\\1"]))
    journal.append("run.note", note={"status": "status of x'status"}, step="status")
    journal.close()
    raw = (tmp_path / "journal.jsonl").read_text(encoding="utf-8")
    assert '"step":"***"' in raw and '"note":{"***":"*** of ***"}' in raw
