"""The run directory (DESIGN.md §7): creation, the exact scenario copy, step logs.

`runs/<name>/<UTC yyyymmddThhmmssZ>/` (or `--run-dir`) holds `scenario.yaml` (the
exact input bytes — so a secret written literally in the scenario file is in it; pass
secrets with `--var` instead), `journal.jsonl`, `logs/<step>.log`, `artifacts/`,
`acks/`, `notes/`, `drill.log` (listener errors) and, at the end, the reports.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bcdrill.common.errors import RunDirError
from bcdrill.common.redact import Redactor
from bcdrill.scenario.model import Scenario

SUBDIRS = ("logs", "artifacts", "acks", "notes")
JOURNAL = "journal.jsonl"
SCENARIO = "scenario.yaml"


def is_run_dir(path: Path) -> bool:
    return (path / JOURNAL).is_file()


def default_run_dir(scn: Scenario, root: Path = Path("runs")) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = root / scn.name / stamp
    n = 1
    while path.exists():  # two runs in the same second
        n += 1
        path = root / scn.name / f"{stamp}-{n}"
    return path


def create_run_dir(scn: Scenario, run_dir: Path | None) -> Path:
    """Make the directory and its sub-directories and copy the scenario's exact bytes."""
    path = (run_dir or default_run_dir(scn)).absolute()
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path} exists and is not a directory")
    if is_run_dir(path):
        raise RunDirError(f"{path} already holds a run — continue it with `drill resume {path}`")
    if path.is_dir() and any(path.iterdir()):
        raise RunDirError(f"{path} is not empty and is not a run directory — choose another --run-dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
        for sub in SUBDIRS:
            (path / sub).mkdir(exist_ok=True)
        (path / SCENARIO).write_bytes(Path(scn.path).read_bytes())
    except OSError as exc:
        raise RunDirError(f"cannot create the run directory {path}: {exc.strerror or exc}") from None
    return path


def synced_temp(folder: Path, data: bytes, suffix: str = "") -> str:
    """A hidden temp file in `folder` holding `data`, fsynced: rename or link it into place."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a file that no reader ever sees half written: a synced temp file renamed over `path`."""
    tmp = synced_temp(path.parent, data, path.suffix)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, obj: Mapping[str, object]) -> None:
    write_bytes_atomic(path, json.dumps(obj, ensure_ascii=False).encode("utf-8"))


def require_run_dir(run_dir: Path) -> None:
    """RunDirError unless `run_dir` holds a journal."""
    if not (run_dir / "journal.jsonl").is_file():
        raise RunDirError(f"{run_dir} is not a drill run directory (no journal.jsonl)")


def journal_records(run_dir: Path) -> list[dict[str, Any]]:
    """The readable records of the journal (a line cut off by a crash is skipped)."""
    records = []
    with open(run_dir / "journal.jsonl", "rb") as fh:
        for raw in fh:
            with contextlib.suppress(ValueError):
                obj = json.loads(raw)
                if isinstance(obj, dict):
                    records.append(obj)
    return records


class StepLog:
    """`logs/<step>.log`: thread-safe, secrets masked, written through (tail -f works).

    The file is created on the first output, preceded by the attempt's header line; a step that
    prints nothing and ends ok leaves no log file (`log` is null in its `step.finished`); one that
    fails always gets one. Once a step has a
    log, later attempts append to it, each with its header and footer. The SHA-256 the journal
    records covers exactly the bytes on disk.
    """

    def __init__(self, run_dir: Path, step_id: str, redactor: Redactor, header: str = "") -> None:
        self.relpath = f"logs/{step_id}.log"
        self.path = run_dir / self.relpath
        self._redactor = redactor
        self._lock = threading.Lock()
        self._header = header
        self._fd: int | None = None
        self._closed = False
        self._digest = hashlib.sha256()
        if self.path.exists():  # an earlier attempt's log: keep it whole, append to it
            self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        if os.fstat(self._fd).st_size:
            with open(self.path, "rb") as earlier:
                for block in iter(lambda: earlier.read(1 << 20), b""):
                    self._digest.update(block)
        header, self._header = self._header, ""
        if header:
            self._write(self._redactor.mask(header).encode("utf-8", errors="replace"))

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self._digest.update(data)

    def write(self, text: str) -> None:
        data = self._redactor.mask(text).encode("utf-8", errors="replace")
        with self._lock:
            if self._closed:
                return  # output that arrives after the step ended is dropped
            if self._fd is None:
                self._open()
            self._write(data)

    def footer(self, text: str, *, force: bool = False) -> None:
        """A closing line, in a log that exists — or, with `force` (a step that did not end ok),
        in a new one: every failure leaves a log, even a silent one."""
        with self._lock:
            if self._closed or (self._fd is None and not force):
                return
            if self._fd is None:
                self._open()
            self._write(self._redactor.mask(text).encode("utf-8", errors="replace"))

    @property
    def written(self) -> bool:
        with self._lock:
            return self._fd is not None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def sha256(self) -> str | None:
        """The digest of the file (None when there is none)."""
        with self._lock:
            return self._digest.hexdigest() if self._fd is not None else None
