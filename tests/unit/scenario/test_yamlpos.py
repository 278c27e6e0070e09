"""Positions as the YAML was written, built from the parser's events: keys, values, list items,
aliases (the anchor's position, as a node graph gives it), merge keys, and the document's limits."""

from __future__ import annotations

from bcdrill.scenario.yamlpos import YList, YMap, load_yaml


def _load(text: str) -> YMap:
    value, problems = load_yaml(text.encode(), "s.yaml")
    assert problems == [] and isinstance(value, YMap)
    return value


def test_keys_values_and_items_keep_where_they_were_written() -> None:
    root = _load("a: 1\nsteps:\n  - {id: x, needs: [y, z]}\n  - id: y\n")
    assert (root.key_pos["steps"].line, root.key_pos["steps"].col) == (2, 1)
    steps = root["steps"]
    assert isinstance(steps, YList)
    assert [(p.line, p.col) for p in steps.item_pos] == [(3, 5), (4, 5)]
    first = steps[0]
    assert isinstance(first, YMap)
    assert (first.val_pos["needs"].line, first.val_pos["needs"].col) == (3, 20)
    assert [(p.line, p.col) for p in first["needs"].item_pos] == [(3, 21), (3, 24)]


def test_an_alias_is_the_same_value_at_its_anchor_and_merge_keys_keep_their_source() -> None:
    root = _load("base: &b {timeout: 5, retries: 1}\nstep: {<<: *b, retries: 2}\nagain: *b\n")
    assert root["again"] is root["base"]
    assert (root.val_pos["again"].line, root.val_pos["again"].col) == (1, 7)  # the anchor's
    step = root["step"]
    assert dict(step) == {"retries": 2, "timeout": 5}
    assert step.val_pos["timeout"].line == 1 and step.val_pos["retries"].line == 2


def test_problems_come_back_with_their_position() -> None:
    _, problems = load_yaml(b"a: 1\na: 2\nb: &x [*x]\nc: *nope\n", "s.yaml")
    assert [str(p) for p in problems] == ["s.yaml:4:4: YAML syntax error: found undefined alias"]
    _, problems = load_yaml(b"a: 1\na: 2\nb: &x [*x]\n", "s.yaml")
    assert [str(p) for p in problems] == [
        "s.yaml:2:1: duplicate key 'a' (first defined at line 1) — remove one",
        "s.yaml:3:4: recursive alias — an anchor cannot contain an alias of itself",
    ]
    _, problems = load_yaml(b"a: 1\n---\nb: 2\n", "s.yaml")
    assert [str(p) for p in problems] == [
        "s.yaml:2:1: YAML syntax error: but found another document (expected a single document in the stream)"
    ]
