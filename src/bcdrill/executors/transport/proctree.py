"""Find and stop a whole tree of local processes, including those that left their process group.

Ansible's workers (and ssh ControlPersist masters, and anything a task starts in the background)
call `setsid`, so killing the process group of the command we started does not reach them. They
are found here by what they inherit from us, an environment entry, or by something in their
command line, plus every descendant by parent pid (read from /proc; Linux only).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Mapping

GRACE = 1.0  # seconds between SIGTERM and SIGKILL


def command_line(pid: int) -> str:
    """The command line of `pid` as one string ("" when it is gone)."""
    try:
        return _read(pid, "cmdline").replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def find_processes(
    *,
    env: str | None = None,
    cmdline_part: str | None = None,
    env_prefix: str | None = None,
    pgid: int | None = None,
) -> set[int]:
    """Pids whose environment holds the `NAME=value` entry `env` (or an entry starting with
    `env_prefix`, or whose command line contains `cmdline_part`, or that are in process group
    `pgid`), plus all their descendants by parent pid. Never this process."""
    parents: dict[int, int] = {}
    roots: set[int] = set()
    needle_env = f"\0{env}\0".encode() if env else None
    needle_prefix = f"\0{env_prefix}".encode() if env_prefix else None
    needle_cmd = cmdline_part.encode() if cmdline_part else None
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = _read(pid, "stat").rsplit(b")", 1)[1].split()
            parents[pid] = int(stat[1])
            if pgid is not None and int(stat[2]) == pgid and stat[0] not in (b"Z", b"X"):
                roots.add(pid)
            if needle_env or needle_prefix:
                environ = b"\0" + _read(pid, "environ") + b"\0"
                if (needle_env and needle_env in environ) or (needle_prefix and needle_prefix in environ):
                    roots.add(pid)
            if needle_cmd and needle_cmd in _read(pid, "cmdline"):
                roots.add(pid)
    return _with_descendants(roots, parents) - {os.getpid()}


def _read(pid: int, name: str) -> bytes:
    with open(f"/proc/{pid}/{name}", "rb") as fh:
        return fh.read()


def _with_descendants(roots: set[int], parents: Mapping[int, int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def terminate(pids: Iterable[int], grace: float = GRACE) -> None:
    """SIGTERM, up to `grace` seconds to exit, then SIGKILL."""
    alive = _signal(set(pids), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = {pid for pid in alive if _running(pid)}
    _signal(alive, signal.SIGKILL)


def signal_all(pids: Iterable[int], sig: signal.Signals) -> set[int]:
    """Send `sig` to each pid; the pids it reached."""
    return _signal(set(pids), sig)


def _signal(pids: set[int], sig: signal.Signals) -> set[int]:
    sent = set()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            sent.add(pid)
    return sent


def _running(pid: int) -> bool:
    try:
        state = _read(pid, "stat").rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")
