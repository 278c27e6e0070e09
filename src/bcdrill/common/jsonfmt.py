"""Readable JSON that stays fast for 10,000 steps.

`json.dumps(indent=...)` runs the pure-Python encoder; the compact one is in C. Objects whose
top-level values include long lists of records (steps, a timeline) are written with the top
level indented and each record of such a list on one compact line. `iter_readable` gives the same
text in pieces, taking such a list as an iterator too, so that it is never held whole.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
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


def load_head(path: Path, last: str) -> Any:
    """The JSON object in `path` without its top-level key `last` and what follows it, when the file
    is written as `dumps_readable` writes (`last` at the start of a line): summary.json's header
    without reading its timeline of every step. Any other file is parsed whole. OSError, ValueError
    as `json.loads`."""
    marker = f"  {json.dumps(last)}: ".encode()
    head: list[bytes] = []
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(marker):
                text = b"".join(head).rstrip()
                if head and text.endswith(b","):
                    with contextlib.suppress(ValueError):
                        return json.loads(text[:-1] + b"\n}")
                break
            head.append(line)
    return json.loads(path.read_bytes())
