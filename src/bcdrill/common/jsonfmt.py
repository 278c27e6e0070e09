"""Readable JSON that stays fast for 10,000 steps.

`json.dumps(indent=...)` runs the pure-Python encoder; the compact one is in C. Objects whose
top-level values include long lists of records (steps, a timeline) are written with the top
level indented and each record of such a list on one compact line.
"""

from __future__ import annotations

import json
from typing import Any


def dumps_readable(obj: dict[str, Any]) -> str:
    """`obj` as indented JSON, except that lists of mappings get one line per mapping."""
    parts = []
    for key, value in obj.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            items = ",\n".join("    " + json.dumps(item, ensure_ascii=False) for item in value)
            text = f"[\n{items}\n  ]"
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key, ensure_ascii=False)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
