"""`drill verify RUN_DIR`: prove the journal is unaltered (and, with a public key, signed)."""

from __future__ import annotations

from pathlib import Path

from bcdrill.errors import RunDirError


def verify_run(run_dir: Path, *, pubkey: Path | None = None) -> tuple[bool, str]:
    """(ok, message) for the run directory's journal; raises RunDirError if there is no journal."""
    from bcdrill.journal import verify_journal

    journal = run_dir / "journal.jsonl"
    if not journal.is_file():
        raise RunDirError(f"{journal}: no journal here — is {run_dir} a run directory?")
    result = verify_journal(journal)
    if not result.ok:
        where = f"{journal}:{result.bad_line}" if result.bad_line else str(journal)
        return False, f"{where}: ALTERED: {result.message}"
    message = f"{journal}: intact: {result.lines} lines, head {result.head}"
    if pubkey is not None:
        from bcdrill.signing import verify_head_signature

        ok, detail = verify_head_signature(run_dir, result.head, pubkey)
        if not ok:
            return False, f"{journal}: intact, but {detail}"
        message += f"; {detail}"
    return True, message
