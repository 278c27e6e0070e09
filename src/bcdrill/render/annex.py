"""Annexes and integrity: log and artifact digests, the journal chain check, the signature, the
evidence files uploaded in the web console."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from types import EllipsisType
from typing import Any

from bcdrill.record.digests import file_sha256, sums_line
from bcdrill.record.events import EVIDENCE_ADDED, Record
from bcdrill.verdicts.fold import Folded


def log_digests(journal: Folded, run_dir: Path | None) -> list[dict[str, Any]]:
    """Each step log named in the journal, its journaled SHA-256 and (with the run directory)
    whether the file on disk still has it: `match`, `differs` or `missing`."""
    logs: dict[str, dict[str, Any]] = {
        log.path: {"step": log.step, "path": log.path, "sha256": log.sha256} for log in journal.logs.values()
    }
    for row in logs.values():
        row["check"] = None
        if run_dir is not None and row["sha256"]:
            path = run_dir / row["path"]
            row["check"] = (
                "missing"
                if not path.is_file()
                else "match"
                if file_sha256(path) == row["sha256"]
                else "differs"
            )
    return list(logs.values())


def artifact_digests(run_dir: Path | None) -> tuple[list[dict[str, Any]], int]:
    """(one row per artifact directory, number of files): its file count and a digest that anyone
    can recompute from an evidence bundle: `grep '  artifacts/DIR/' SHA256SUMS | sha256sum`."""
    root = run_dir / "artifacts" if run_dir else None
    if run_dir is None or root is None or not root.is_dir():
        return [], 0
    groups: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(run_dir).as_posix()
        top = "/".join(rel.split("/")[:2]) + ("/" if path.parent != root else "")
        groups.setdefault(top, []).append(sums_line(file_sha256(path), rel))
    rows = [
        {"path": top, "files": len(lines), "sha256": hashlib.sha256("".join(lines).encode()).hexdigest()}
        for top, lines in sorted(groups.items())
    ]
    return rows, sum(len(lines) for lines in groups.values())


Shown = dict[str, Any] | None | EllipsisType
FROM_FILE: Shown = ...  # show the signature RUN_DIR/journal.sig holds now


def signature(run_dir: Path | None) -> dict[str, Any] | None:
    """What a report shows of RUN_DIR/journal.sig (written by `drill export --sign-key`), if any:
    its fingerprint and signed head. summary.json records it (`report_signature`), so that `drill
    verify` re-renders a report made before the run was signed as it was made."""
    path = run_dir / "journal.sig" if run_dir else None
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"unreadable": True}
    if not isinstance(data, dict):
        return {"unreadable": True}
    return {"fingerprint": data.get("fingerprint"), "head": data.get("head")}


def integrity(
    journal: Folded,
    run_dir: Path | None,
    head: str | None,
    where: str | None = None,
    shown: Shown = FROM_FILE,
) -> dict[str, Any]:
    """§11: the chain check, each log's digest and whether its file still has it, the artifact
    digests (files read in `run_dir`), the signature (`shown`, or journal.sig's), and the verify
    commands naming `where` (default: `run_dir`)."""
    intact, bad_line = journal.chain_ok, journal.bad_line
    logs = log_digests(journal, run_dir)
    artifacts, artifact_count = artifact_digests(run_dir)
    sig = signature(run_dir) if isinstance(shown, EllipsisType) else shown
    where = where or (str(run_dir) if run_dir else "RUN_DIR")
    return {
        "chain_ok": intact,
        "bad_line": bad_line,
        "logs": logs,
        "logs_ok": all(row["check"] in (None, "match") for row in logs),
        "artifacts": artifacts,
        "artifact_count": artifact_count,
        "signature": sig,
        "signed_head_matches": bool(sig and head and sig.get("head") == head),
        "verify_command": f"drill verify {where}",
        "verify_pubkey_command": f"drill verify {where} --pubkey KEY.pub",
    }


def evidence_files(events: list[Record], when: Callable[[str | None], str | None]) -> list[dict[str, Any]]:
    """The evidence files uploaded in the web console (`evidence.added`), as the journal records them."""
    return [
        {
            "step": ev["step"],
            "file": ev["file"],
            "name": ev.get("name") or "",
            "size": ev.get("size"),
            "sha256": ev["sha256"],
            "by": ev.get("by") or "",
            "role": ev.get("role") or "",
            "when": when(ev.get("ts")),
        }
        for ev in events
        if ev["event"] == EVIDENCE_ADDED
    ]
