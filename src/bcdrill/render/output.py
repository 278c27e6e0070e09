"""Report files written, or compared, as their text is made: a report of 50,000 steps is never held
whole in memory (the templates stream with `Template.generate()`, summary.json one step a line)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

_BUFFER = 1 << 16  # characters gathered before a write


def write_atomic(path: Path, chunks: Iterable[str | bytes]) -> None:
    """Write the chunks (text as UTF-8) to `path` through a temporary file renamed over it, so that
    a reader sees the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for data in _gathered(chunks):
                handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _gathered(chunks: Iterable[str | bytes]) -> Iterator[bytes]:
    """The chunks as UTF-8 bytes in pieces of about `_BUFFER` characters: a template yields some fifty
    small strings per step, each encoded and written on its own cost more than making them."""
    pending: list[str] = []
    size = 0
    for chunk in chunks:
        if isinstance(chunk, bytes):
            if pending:
                yield "".join(pending).encode("utf-8")
                pending, size = [], 0
            yield chunk
            continue
        pending.append(chunk)
        size += len(chunk)
        if size >= _BUFFER:
            yield "".join(pending).encode("utf-8")
            pending, size = [], 0
    if pending:
        yield "".join(pending).encode("utf-8")


def same_content(path: Path, chunks: Iterable[str | bytes]) -> bool:
    """Whether the file holds exactly the chunks' bytes (text as UTF-8), read along with them."""
    with open(path, "rb") as handle:
        for data in _gathered(chunks):
            if handle.read(len(data)) != data:
                return False
        return handle.read(1) == b""
