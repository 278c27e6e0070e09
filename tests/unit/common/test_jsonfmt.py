"""Readable JSON: one line per record of a long list, the same text whole or in pieces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bcdrill.common.jsonfmt import dumps_readable, iter_readable, load_head

CASES: list[dict[str, Any]] = [
    {},
    {"a": 1, "b": None, "c": "é"},
    {"steps": [{"id": "s1", "n": 1}, {"id": "s2", "n": [1, 2]}], "systems": {"db": {"rto": 60}}},
    {"empty": [], "mixed": [{"a": 1}, 2], "nested": {"list": [{"a": 1}]}},
]


@pytest.mark.parametrize("obj", CASES)
def test_the_text_is_json_with_one_line_per_record(obj: dict[str, Any]) -> None:
    text = dumps_readable(obj)
    assert json.loads(text) == obj
    for key, value in obj.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                assert "    " + json.dumps(item, ensure_ascii=False) in text.splitlines() or (
                    "    " + json.dumps(item, ensure_ascii=False) + "," in text.splitlines()
                ), key


@pytest.mark.parametrize("obj", CASES)
def test_an_iterator_of_records_gives_the_text_of_the_list(obj: dict[str, Any]) -> None:
    lazy = {
        k: iter(v) if isinstance(v, list) and all(isinstance(i, dict) for i in v) else v
        for k, v in obj.items()
    }
    assert "".join(iter_readable(lazy)) == dumps_readable(obj)


def test_the_head_of_a_readable_file_is_the_object_without_its_last_key(tmp_path: Path) -> None:
    obj = {"status": "complete", "history": [{"kind": "resumed"}], "timeline": [{"id": "s1"}, {"id": "s2"}]}
    path = tmp_path / "summary.json"
    path.write_text(dumps_readable(obj), encoding="utf-8")
    assert load_head(path, "timeline") == {"status": "complete", "history": [{"kind": "resumed"}]}
    path.write_text(json.dumps(obj), encoding="utf-8")  # written otherwise: read whole
    assert load_head(path, "timeline") == obj
    path.write_text('{\n  "timeline": []\n}\n', encoding="utf-8")  # nothing before it
    assert load_head(path, "timeline") == {"timeline": []}
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(ValueError):
        load_head(path, "timeline")
