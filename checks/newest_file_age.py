"""Stock check: the newest file in a directory (e.g. replicated images) — its mtime is the RPO data timestamp.

check: {python: "checks/newest_file_age.py:newest_file_age",
        args: {path: /dr/imaging/store, pattern: "*.tif", recursive: true, max_age: 1800}}
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def newest_file_age(
    path: str, pattern: str = "*", recursive: bool = False, max_age: float | None = None
) -> dict[str, Any]:
    """ok when a file matches (and, with `max_age` seconds, the newest is at most that old).

    `data_timestamp` is the newest file's modification time (UTC ISO-8601), for `rpo_of`.
    """
    base = Path(path)
    if not base.is_dir():
        return {"ok": False, "detail": f"{path} is not a directory", "observed": {}}
    newest, mtime, count = _newest(base, pattern, recursive)
    if newest is None:
        return {"ok": False, "detail": f"no file matching {pattern!r} in {path}", "observed": {"files": 0}}
    age = max(time.time() - mtime, 0.0)
    stamp = datetime.fromtimestamp(mtime, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    observed = {"newest": str(newest), "mtime": stamp, "age_seconds": round(age, 3), "files": count}
    detail = f"newest of {count} file(s) in {path}: {newest.name} modified {stamp} ({age:.1f}s ago)"
    ok = max_age is None or age <= max_age
    if not ok:
        detail += f"; expected at most {max_age:g}s old"
    return {"ok": ok, "detail": detail, "observed": observed, "data_timestamp": stamp}


def _newest(base: Path, pattern: str, recursive: bool) -> tuple[Path | None, float, int]:
    newest: Path | None = None
    newest_mtime, count = 0.0, 0
    for candidate in base.rglob(pattern) if recursive else base.glob(pattern):
        try:
            stat = candidate.stat()
        except OSError:  # removed while scanning
            continue
        if not candidate.is_file():
            continue
        count += 1
        if newest is None or stat.st_mtime > newest_mtime:
            newest, newest_mtime = candidate, stat.st_mtime
    return newest, newest_mtime, count
