"""File digests as the record and SHA256SUMS state them, and which files of a run directory make its
record (what `drill export` packs and a signature covers)."""

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


SUMS_NAME = "SHA256SUMS"
README_NAME = "VERIFY.txt"
_SKIP_DIRS = {"acks", "notes", "requests"}  # hand-over files between terminals, already journaled
_SKIP_NAMES = {".lock", SUMS_NAME, README_NAME, "console.secret"}  # the console's secret never leaves


def bundle_files(run_dir: Path) -> list[Path]:
    """The run directory's files to pack, sorted by relative path (temp and lock files left out)."""
    files = []
    for path in run_dir.rglob("*"):
        rel = path.relative_to(run_dir)
        if not path.is_file() or rel.parts[0] in _SKIP_DIRS or path.name in _SKIP_NAMES:
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(run_dir).as_posix())
