"""Follow a journal as it grows: each call reads only the bytes appended since the last one.

A line is parsed once it ends with a newline (a line being written is kept until it is whole).
A line that is not a journal record (cut off by a crash, then set aside) is skipped. When the
file shrinks (a half-written line cut back after a full disk), reading goes on from its end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CHUNK = 4 << 20  # bytes read at most per call: a huge journal is caught up with in steps


class JournalTail:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self._partial = b""

    def read_new(self) -> list[dict[str, Any]]:
        """The records appended since the last call (none when the file has not grown)."""
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return []
        if size < self.offset:  # cut back: what we kept of an unfinished line is gone
            self.offset, self._partial = size, b""
        if size == self.offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read(min(CHUNK, size - self.offset))
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        return [rec for rec in map(_parse, lines) if rec is not None]

    @property
    def behind(self) -> bool:
        """True while there is more to read than one call reads."""
        try:
            return os.stat(self.path).st_size > self.offset
        except OSError:
            return False


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("event"), str) and isinstance(obj.get("seq"), int):
        return obj
    return None
