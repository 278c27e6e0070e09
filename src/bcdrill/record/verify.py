"""`drill verify RUN_DIR`: prove the record is unaltered.

Three layers, each reported: the journal's hash chain (and the head recorded in summary.json),
the step logs against the SHA-256 the journal recorded when each step finished (scenario.yaml
against run.started's scenario_sha256), and — in an
extracted evidence bundle — every file against SHA256SUMS. With `--pubkey`, the signature of
the journal head too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bcdrill.common.errors import RunDirError
from bcdrill.record.digests import file_sha256 as _sha256
from bcdrill.record.events import RUN_FINISHED, RUN_STARTED, STEP_FINISHED

SCENARIO_NAME = "scenario.yaml"  # the run's copy of its scenario file (run/rundir.py)


class _Facts:
    """What `drill verify` needs of the journal's records, gathered as the chain is walked."""

    def __init__(self) -> None:
        self.logs: dict[str, str] = {}  # log path -> the SHA-256 recorded last for it
        self.scenario_sha256: str | None = None  # run.started's (the first one)
        self.started = False
        self.finished: str | None = None  # the hash of the last run.finished line

    def visit(self, rec: Mapping[str, Any]) -> None:
        if rec["event"] == STEP_FINISHED and rec.get("log") and rec.get("log_sha256"):
            self.logs[str(rec["log"])] = str(rec["log_sha256"])
        elif rec["event"] == RUN_STARTED and not self.started:
            self.started = True
            digest = rec.get("scenario_sha256")
            self.scenario_sha256 = str(digest) if digest else None
        elif rec["event"] == RUN_FINISHED:
            self.finished = str(rec["hash"])


def verify_run(
    run_dir: Path, *, pubkey: Path | None = None, expect_head: str | None = None
) -> tuple[bool, str]:
    """(ok, message) for the run directory; raises RunDirError if there is no journal."""
    from bcdrill.record.journal import verify_and_visit

    journal = run_dir / "journal.jsonl"
    if not journal.is_file():
        raise RunDirError(f"{journal}: no journal here — is {run_dir} a run directory?")
    facts = _Facts()
    kept = expect_head.strip().lower() if expect_head is not None else None
    result, walk = verify_and_visit(journal, visit=facts.visit, wanted=[kept] if kept else [])
    if not result.ok:
        where = f"{journal}:{result.bad_line}" if result.bad_line else str(journal)
        return False, f"{where}: ALTERED: {result.message}"
    if kept is not None and kept not in walk.found:
        return False, f"{journal}: ALTERED: {_head_missing(kept, walk.good, walk.head)}"
    finished = facts.finished
    head = f"journal_head (the run.finished line) {finished}; " if finished else ""
    lines = [f"{journal}: intact: {result.lines} lines; {head}last line {result.head}"]
    if finished is None:
        lines[0] += " — the run has NOT FINISHED (no run.finished line): in progress, crashed or interrupted"
    problems = log_problems(run_dir, facts.logs) + scenario_problems(run_dir, facts.scenario_sha256)
    problems += sums_problems(run_dir)
    if problems:
        return False, "\n".join([*lines, *(f"{run_dir / p}: ALTERED: {why}" for p, why in problems)])
    lines.append(f"{run_dir}: step logs match the digests in the journal")
    if (run_dir / "SHA256SUMS").is_file():
        lines.append(f"{run_dir}: every file matches SHA256SUMS")
    if pubkey is not None:
        from bcdrill.record.signing import verify_head_signature

        ok, detail = verify_head_signature(run_dir, result.head, pubkey)
        if not ok:
            return False, "\n".join([*lines, f"{journal}: signature: {detail}"])
        lines.append(f"{journal}: signature: {detail}")
    return True, "\n".join(lines)


def log_problems(run_dir: Path, recorded: Mapping[str, str]) -> list[tuple[str, str]]:
    """Logs that differ from the digest the journal recorded last for them (`recorded`: log path ->
    SHA-256, from the lines as verified, not decoded: verify reads lines it cannot interpret too):
    (relative path, why)."""
    problems = []
    for rel, digest in recorded.items():
        path = run_dir / rel
        if not path.is_file():
            problems.append((rel, "missing; the journal recorded its SHA-256 when the step finished"))
        elif _sha256(path) != digest:
            problems.append((rel, f"differs from the SHA-256 the journal recorded ({digest[:16]}…)"))
    return problems


def scenario_problems(run_dir: Path, digest: str | None) -> list[tuple[str, str]]:
    """scenario.yaml, the exact bytes the run was started with, against `scenario_sha256` of the
    journal's run.started line (nothing to check without either)."""
    path = run_dir / SCENARIO_NAME
    if not digest or not path.is_file():
        return []
    if _sha256(path) != digest:
        return [(SCENARIO_NAME, f"differs from the scenario_sha256 the journal recorded ({digest[:16]}…)")]
    return []


def sums_problems(run_dir: Path) -> list[tuple[str, str]]:
    """Files of an extracted bundle that differ from its SHA256SUMS (none without one)."""
    sums = run_dir / "SHA256SUMS"
    if not sums.is_file():
        return []
    problems = []
    for line in sums.read_text(encoding="utf-8").splitlines():
        digest, sep, rel = line.partition("  ")
        if not sep:
            continue
        rel = rel.lstrip("*")
        path = run_dir / rel
        if not path.is_file():
            problems.append((rel, "listed in SHA256SUMS but missing"))
        elif _sha256(path) != digest:
            problems.append((rel, "differs from SHA256SUMS"))
    return problems


def _head_missing(head: str, lines: int, last: str | None) -> str:
    """Why the journal does not hold the head the auditor kept."""
    return (
        f"the head you kept ({head[:12]}…) is not in the journal: lines were cut off the end or replaced "
        f"(the journal now ends at line {lines} with {last[:12] if last else '-'}…)"
    )
