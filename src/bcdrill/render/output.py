"""Report files written, or compared, as their text is made: a report of 50,000 steps is never held
whole in memory (the templates stream with `Template.generate()`, summary.json one step a line)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

_BUFFER = 1 << 16  # bytes gathered before a write


def write_atomic(path: Path, chunks: Iterable[str | bytes]) -> None:
    """Write the chunks (text as UTF-8) to `path` through a temporary file renamed over it, so that
    a reader sees the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb", buffering=_BUFFER) as handle:
            for chunk in chunks:
                handle.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def same_content(path: Path, chunks: Iterable[str | bytes]) -> bool:
    """Whether the file holds exactly the chunks' bytes (text as UTF-8), read along with them."""
    with open(path, "rb") as handle:
        for chunk in chunks:
            data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
            if handle.read(len(data)) != data:
                return False
        return handle.read(1) == b""
