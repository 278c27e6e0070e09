"""What people ask of a drill through the web console, as files in the run directory.

The console never writes the journal: it drops a request file here and the runner holding the
run journals it (with the person's name, role, client address and `via`), as it does for
`drill ack` files (`inbox.py`).

- `requests/<time>-<id>.json`: a commander action or an evidence file, one request a file:
  - `hold` / `continue`: no new step starts while the drill is held (the runner applies it at
    once and journals `commander.action`);
  - `retry` (a failed step) / `mark_done` (a step in flight when the runner crashed): decisions
    about a stopped run that the next `drill resume` applies (as `--rerun` / `--mark-done`) and
    journals as `commander.action`;
  - `evidence`: a file a participant uploaded for a step, already stored under
    `evidence/<step>/`; the runner journals `evidence.added` with its SHA-256.
- Done requests move to `requests/done/`.

Every file is written atomically (temp file, fsync, rename): a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bcdrill.common.errors import UsageError
from bcdrill.common.timestamps import utc_ts
from bcdrill.run.rundir import write_bytes_atomic, write_json_atomic

REQUESTS = "requests"
EVIDENCE = "evidence"
LIVE_ACTIONS = ("hold", "continue", "evidence")  # applied by the runner at once
RESUME_ACTIONS = ("retry", "mark_done")  # applied by the next `drill resume`
ACTIONS = (*LIVE_ACTIONS, *RESUME_ACTIONS)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 80


@dataclass(frozen=True)
class Actor:
    """Who asks, as the console authenticated them."""

    name: str
    role: str | None
    team: str | None
    client: str | None  # the client's address (host), as the console's socket saw it
    via: str = "console"

    def fields(self) -> dict[str, Any]:
        return {"by": self.name, "role": self.role, "team": self.team, "client": self.client, "via": self.via}


def write_request(
    run_dir: Path,
    action: str,
    actor: Actor,
    *,
    step: str | None = None,
    reason: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Drop one request for the runner; the request as written."""
    if action not in ACTIONS:
        raise UsageError(f"unknown request {action!r}: one of {', '.join(ACTIONS)}")
    request_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:8]
    record = {"id": request_id, "action": action, "step": step, "reason": reason, "ts": utc_ts()}
    record.update(actor.fields())
    record.update(extra)
    write_json_atomic(Path(run_dir) / REQUESTS / f"{request_id}.json", record)
    return record


def pending_requests(run_dir: Path, actions: tuple[str, ...] = ACTIONS) -> list[tuple[Path, dict[str, Any]]]:
    """Pending request files of the given actions, oldest first (malformed files are skipped)."""
    found = []
    folder = Path(run_dir) / REQUESTS
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        if path.name.startswith("."):  # being written (pathlib's glob matches hidden files): taking it
            continue  # now would journal it twice, once more after its rename
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(obj, dict) and obj.get("action") in actions and isinstance(obj.get("by"), str):
            found.append((path, obj))
    return found


def mark_request_done(path: Path) -> None:
    done = path.parent / "done"
    done.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):
        os.replace(path, done / path.name)


def safe_file_name(name: str) -> str:
    """A file name that cannot leave its folder: ASCII letters, digits and `._-` only, never hidden;
    the extension is kept (`新契约.png` -> `file.png`)."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = (base[: -len(Path(base).suffix)], Path(base).suffix) if Path(base).suffix else (base, "")
    stem = _SAFE_NAME.sub("_", stem).strip("._-") or "file"
    suffix = _SAFE_NAME.sub("", suffix)[:12] if len(suffix) > 1 else ""
    return stem[: MAX_NAME - len(suffix)] + suffix


def store_evidence(run_dir: Path, step: str, name: str, data: bytes, actor: Actor) -> dict[str, Any]:
    """Keep an uploaded file under `evidence/<step>/` and ask the runner to journal its digest; the
    request as written (`file` relative to the run directory, `sha256`, `size`)."""
    digest = hashlib.sha256(data).hexdigest()
    relative = Path(EVIDENCE) / safe_file_name(step) / f"{digest[:12]}-{safe_file_name(name)}"
    target = Path(run_dir) / relative
    if not target.exists():
        write_bytes_atomic(target, data)
    return write_request(
        run_dir,
        "evidence",
        actor,
        step=step,
        file=relative.as_posix(),
        name=name[:200],
        sha256=digest,
        size=len(data),
    )
