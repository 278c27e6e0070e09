"""Secret values never survive the Redactor; short values are reported, not masked."""

from __future__ import annotations

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
