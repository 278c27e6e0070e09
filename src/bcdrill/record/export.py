"""`drill export RUN_DIR -o BUNDLE.zip [--sign-key KEY]`: the evidence bundle of a drill.

The zip holds the run directory's files under their paths relative to it (scenario.yaml,
journal.jsonl, journal.sig when signed, logs/, artifacts/, reports, summary.json, drill.log),
plus VERIFY.txt (how to check it) and SHA256SUMS (`sha256sum -c` format, every other file).
The journal is verified first: an altered journal is never exported. Check a bundle by hand:

    unzip drill-2026.zip -d drill-2026 && cd drill-2026
    sha256sum -c SHA256SUMS          # no file changed since the export
    drill verify .                   # the journal's hash chain and head
    drill verify . --pubkey KEY.pub  # the head was signed by the holder of the key
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from bcdrill.common.errors import RunDirError, UsageError
from bcdrill.record.digests import README_NAME, SUMS_NAME, bundle_files

README = """Evidence bundle of drill run {run_id} ({scenario}), exported by bcdrill {version}.
Journal head (hash of the journal's last line): {head}
{signed}
Check it (Linux/macOS; on Windows use `certutil -hashfile FILE SHA256` per file):
  unzip BUNDLE.zip -d DIR && cd DIR
  sha256sum -c SHA256SUMS             every file is as exported
  drill verify .                      the journal's hash chain and head are intact
  drill verify . --pubkey KEY.pub     the head was signed by the holder of the key
The reports (report.html, report.md) are rendered from journal.jsonl alone: `drill report .` re-renders them.
"""


def _check_journal(run_dir: Path) -> str:
    from bcdrill.record.journal import JOURNAL_NAME, verify_journal

    if not (run_dir / JOURNAL_NAME).is_file():
        raise RunDirError(f"{run_dir} is not a drill run directory (no {JOURNAL_NAME})")
    result = verify_journal(run_dir)
    if not result.ok or not result.head:
        raise RunDirError(f"refusing to export {run_dir}: its journal is altered: {result.message}")
    return result.head


def _readme(run_dir: Path, head: str, signed: str | None) -> str:
    from bcdrill import __version__
    from bcdrill.record.journal import JOURNAL_NAME

    first = (run_dir / JOURNAL_NAME).open(encoding="utf-8").readline()
    import json

    start = json.loads(first)
    line = f"Signed with the Ed25519 key {signed} (journal.sig).\n" if signed else "Not signed.\n"
    return README.format(
        run_id=start.get("run_id"),
        scenario=start.get("scenario"),
        version=__version__,
        head=head,
        signed=line,
    )


def _write_zip(run_dir: Path, output: Path, readme: str) -> int:
    from bcdrill.record.digests import file_sha256, sums_line

    files = bundle_files(run_dir)
    sums = [sums_line(file_sha256(p), p.relative_to(run_dir).as_posix()) for p in files]
    sums.append(sums_line(_text_sha256(readme), README_NAME))
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for path in files:
                bundle.write(path, path.relative_to(run_dir).as_posix())
            bundle.writestr(README_NAME, readme)
            bundle.writestr(SUMS_NAME, "".join(sorted(sums, key=lambda line: line.split("  ", 1)[1])))
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(files) + 2


def _text_sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def export_bundle(
    run_dir: Path,
    output: Path,
    *,
    sign_key: Path | None = None,
    prepare: Callable[[Path], None] | None = None,
) -> str:
    """Write the evidence bundle of `run_dir` to `output`; returns a one-line description.

    `prepare(run_dir)` runs once the journal is proven intact, before the files are packed: the CLI
    renders the reports a run is missing there (an interrupted or copied run)."""
    if output.suffix.lower() != ".zip":
        raise UsageError(f"-o {output}: the bundle is a zip file — give a name ending in .zip")
    if output.resolve().is_relative_to(run_dir.resolve()):
        raise UsageError(f"-o {output}: write the bundle outside the run directory {run_dir}")
    head = _check_journal(run_dir)
    if prepare is not None:
        prepare(run_dir)
    signed = None
    if sign_key is not None:  # after the reports exist: the signature covers every file an auditor reads
        from bcdrill.record.digests import file_sha256
        from bcdrill.record.signing import SIG_NAME, sign_head

        files = {
            p.relative_to(run_dir).as_posix(): file_sha256(p)
            for p in bundle_files(run_dir)
            if p.name != SIG_NAME
        }
        signed = str(sign_head(run_dir, head, sign_key, files)["fingerprint"])
    count = _write_zip(run_dir, output, _readme(run_dir, head, signed))
    how = f", journal head signed by {signed}" if signed else ""
    return f"{output}: {count} files with SHA256SUMS; journal head {head}{how}"
