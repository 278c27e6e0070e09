"""Readable JSON that stays fast for 10,000 steps.

`json.dumps(indent=...)` runs the pure-Python encoder; the compact one is in C. Objects whose
top-level values include long lists of records (steps, a timeline) are written with the top
level indented and each record of such a list on one compact line. `iter_readable` gives the same
text in pieces, taking such a list as an iterator too, so that it is never held whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def dumps_readable(obj: dict[str, Any]) -> str:
    """`obj` as indented JSON, except that lists of mappings get one line per mapping."""
    return "".join(iter_readable(obj))


def iter_readable(obj: dict[str, Any]) -> Iterator[str]:
    """`dumps_readable(obj)` in pieces; a top-level value may be an iterator of mappings, written as
    the list it yields, one mapping at a time."""
    yield "{\n"
    for number, (key, value) in enumerate(obj.items()):
        if number:
            yield ",\n"
        yield f"  {json.dumps(key, ensure_ascii=False)}: "
        if isinstance(value, Iterator) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            yield from _records(iter(value))
        else:
            yield json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    yield "\n}\n"


def _records(items: Iterator[Any]) -> Iterator[str]:
    first = next(items, None)
    if first is None:
        yield "[]"
        return
    yield "[\n    " + json.dumps(first, ensure_ascii=False)
    for item in items:
        yield ",\n    " + json.dumps(item, ensure_ascii=False)
    yield "\n  ]"
