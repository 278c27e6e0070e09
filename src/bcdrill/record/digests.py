"""File digests as the record and SHA256SUMS state them."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sums_line(sha256: str, relpath: str) -> str:
    """One line of SHA256SUMS, as `sha256sum` writes it (two spaces, text mode)."""
    return f"{sha256}  {relpath}\n"
