"""One runner per run directory: an exclusive `flock` on `RUN_DIR/.lock` held for the whole run.

The lock file records the holder's pid and start time so that a refused second
`drill run/resume/note` can say who holds it. The kernel drops the lock when the
holder exits, even after `kill -9`, so a stale lock file never blocks a resume.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from bcdrill.common.errors import RunDirError

LOCK_NAME = ".lock"


class RunLock:
    """`with RunLock(run_dir):` or `lock = RunLock(run_dir).acquire(); ...; lock.release()`."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise RunDirError naming the holder."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise RunDirError(_in_use_message(self.path.parent, holder)) from None
        started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {started}\n".encode(), 0)
        self._fd = fd
        return self

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False when another runner holds it."""
        try:
            self.acquire()
        except RunDirError:
            return False
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _in_use_message(run_dir: Path, holder: str) -> str:
    pid, _, started = holder.partition(" ")
    who = f"pid {pid} (started {started})" if pid else "another process"
    return (
        f"run directory {run_dir} is in use by {who} — wait for it to finish, or stop that runner "
        f"(it can be resumed with `drill resume {run_dir}`)"
    )


def runner_alive(run_dir: Path) -> bool:
    """True while some process holds the run's lock (a runner), without touching the lock: it is
    looked up in /proc/locks (Linux), so a `drill resume` starting at the same moment is never
    refused because of this look."""
    try:
        inode = os.stat(Path(run_dir) / LOCK_NAME).st_ino
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if "FLOCK" in fields and any(
                    f.rsplit(":", 1)[-1] == str(inode) for f in fields if f.count(":") == 2
                ):
                    return True
    except OSError:
        return False
    return False
