"""Run one local command: stream its output to the step log, stop it on deadline or cancel.

The command runs in a new session (its own process group). Standard output and
standard error are merged and written to the log line by line as they arrive; the
last non-empty line is kept (for `rpo_of`). The wait is event-driven: a pidfd and
the output pipe are watched with `select`, so a fast command costs no polling
latency; the cancel event is looked at every 50 ms at most.

On timeout or cancel the WHOLE process group is stopped: SIGTERM, then up to
`grace` seconds (default 2 s) for the group to go away, then SIGKILL to whatever is
left (including children that ignore SIGTERM). Processes that left the group on
their own (`setsid`, double-fork daemons) are found by an environment entry
(`BCDRILL_PROC=<token>`) every process started by the command inherits, and are
stopped the same way (Linux /proc; a process that clears its environment escapes).

A command that exits while background children still hold its output open is
considered finished; its output is drained for at most `drain` seconds after the
exit, then no longer captured.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import secrets
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from bcdrill.common.libc import libc_function
from bcdrill.executors.transport.proctree import command_line, find_processes, signal_all, terminate

POLL_CANCEL = 0.05  # seconds between looks at the cancel event
GRACE = 2.0  # seconds between SIGTERM and SIGKILL of the process group
DRAIN = 0.5  # seconds to keep reading output held open by background children after exit
CAPTURE_LIMIT = 1_000_000  # characters of output kept in memory when capturing
MARKER = "BCDRILL_PROC"  # environment entry that tags every process a command starts

ProcessStatus = Literal["exited", "timeout", "cancelled"]


class LineSink(Protocol):
    def write(self, text: str) -> None: ...


@dataclass(frozen=True)
class ProcessResult:
    status: ProcessStatus
    exit_code: int | None  # None when killed by us
    last_line: str | None  # last non-empty output line
    output: str = ""  # merged output, only when capture=True (at most CAPTURE_LIMIT characters)
    survivors: tuple[tuple[int, str], ...] = ()  # (pid, command line) still running after an exit


_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # what str.splitlines splits at


class _Output:
    """Incremental decoding and line splitting of the merged output."""

    def __init__(self, log: LineSink, capture: bool) -> None:
        self._log = log
        self._capture = capture
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial: list[str] = []  # the start of a line not ended yet, in pieces (joined once)
        self._chunks: list[str] = []
        self._size = 0
        self.last_line: str | None = None

    def feed(self, data: bytes, final: bool = False) -> None:
        new = self._decoder.decode(data, final=final)
        if not final and not _LINE_BREAK.search(new):  # a long line goes on: no rescan of its start
            if new:
                self._partial.append(new)
            return
        text = "".join([*self._partial, new])
        lines = text.splitlines(keepends=True)
        self._partial = [lines.pop()] if lines and not final and not lines[-1].endswith("\n") else []
        for line in lines:
            self._emit(line if line.endswith("\n") else line + "\n")

    def _emit(self, line: str) -> None:
        self._log.write(line)
        if line.strip():
            self.last_line = line.strip()
        if self._capture and self._size < CAPTURE_LIMIT:
            self._chunks.append(line)
            self._size += len(line)

    @property
    def text(self) -> str:
        return "".join(self._chunks)[:CAPTURE_LIMIT]


class Child:
    """A started command: its pid (also its process group's id: it leads a new session), the read
    end of its merged output, and its exit code once reaped (negative: killed by that signal)."""

    def __init__(self, pid: int, pipe: int, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.pipe = pipe
        self.returncode: int | None = None
        self._popen = popen  # started by subprocess (a `cwd`, or a PATH of the step's own): it reaps

    def poll(self) -> int | None:
        """The exit code if the process has ended (reaping it), else None."""
        if self.returncode is None:
            if self._popen is not None:
                self.returncode = self._popen.poll()
            else:
                self._reap(os.WNOHANG)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the exit (at most `timeout` seconds); its code, or None when still running."""
        if timeout is None:
            if self.returncode is None:
                if self._popen is not None:
                    self.returncode = self._popen.wait()
                else:
                    self._reap(0)
            return self.returncode
        end = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < end:
            time.sleep(0.005)
        return self.returncode

    def _reap(self, flags: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:  # reaped elsewhere: the code is lost (subprocess says 0 too)
            self.returncode = 0
            return
        if pid:
            self.returncode = os.waitstatus_to_exitcode(status)

    def close(self) -> None:
        """Close the read end of the output pipe."""
        if self._popen is not None and self._popen.stdout is not None:
            self._popen.stdout.close()
        else:
            os.close(self.pipe)


def _spawn(command: str | tuple[str, ...], cwd: str | None, env: Mapping[str, str] | None, tag: str) -> Child:
    """Start `command` in a new session, stdin from /dev/null, stdout and stderr into one pipe.

    `posix_spawn` (a vfork and an exec, no Python in between) when it can do all that asks;
    subprocess when the step sets a `cwd` (Python 3.11 cannot chdir in posix_spawn) or its own
    PATH (posix_spawnp would search the runner's)."""
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    extra = {os.fsencode(k): os.fsencode(v) for k, v in (env or {}).items()}
    full_env = {**_runner_env(), **extra, MARKER.encode(): tag.encode()}  # bytes: no re-encoding per spawn
    if cwd is None and b"PATH" not in extra and argv:
        child = _posix_spawn(argv, full_env)
        if child is not None:
            return child
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    return Child(proc.pid, proc.stdout.fileno(), proc)


_RESET_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)
)  # Python ignores these; a command gets them at their default, as subprocess gives them


def _posix_spawn(argv: list[str], env: Mapping[bytes, bytes]) -> Child | None:
    """The command started by posix_spawnp, or None when this process's descriptors rule it out."""
    _close_on_exec()
    read, write = os.pipe()
    if read < 3 or write < 3:  # 0, 1 or 2 was closed: the dup2 below would clobber it
        os.close(read)
        os.close(write)
        return None
    try:
        pid = os.posix_spawnp(
            argv[0],
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, write, 1),
                (os.POSIX_SPAWN_DUP2, write, 2),
            ],
            setsid=True,
            setsigdef=_RESET_SIGNALS,
        )
    except OSError as exc:
        os.close(read)
        raise OSError(exc.errno, exc.strerror, argv[0]) from None  # named as subprocess names it
    except BaseException:  # e.g. ValueError for a NUL byte in an argument: no descriptor is left open
        os.close(read)
        raise
    finally:
        os.close(write)
    return Child(pid, read)


def _runner_env() -> Mapping[bytes, bytes]:
    """The runner's environment as bytes, as it is now. `os.environb` is a mapping that encodes every
    key it yields (~13 µs for 35 variables); the plain dict behind it, read-only here, is copied at
    once (~0.2 µs)."""
    data = getattr(os.environb, "_data", None)
    return data if isinstance(data, dict) else dict(os.environb)


_CLOSE_RANGE_CLOEXEC = 4  # linux/close_range.h
_close_range: Callable[[int, int, int], int] | None = None


def _close_on_exec() -> None:
    """Mark every descriptor above 2 close-on-exec, as subprocess's close_fds=True closes them in
    the child: a command inherits only its stdin, stdout and stderr. Python opens files and
    sockets close-on-exec already (PEP 446); this covers what the runner was started with or a
    library made inheritable. One `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)` call (Linux 5.11,
    glibc 2.34: ~1 µs), else a look at each descriptor in /proc/self/fd (~20 µs)."""
    global _close_range
    if _close_range is None:
        _close_range = _libc_close_range()
    if _close_range(3, 0xFFFFFFFF, _CLOSE_RANGE_CLOEXEC) == 0:
        return
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2:
            with contextlib.suppress(OSError):
                if os.get_inheritable(fd):
                    os.set_inheritable(fd, False)


def _libc_close_range() -> Callable[[int, int, int], int]:
    """glibc's close_range, or a stand-in that fails (then each descriptor is looked at)."""
    import ctypes

    function = libc_function("close_range", ctypes.c_uint, ctypes.c_uint, ctypes.c_int)
    return function if function is not None else lambda first, last, flags: -1


def run_process(
    command: str | tuple[str, ...],
    *,
    log: LineSink,
    deadline: float | None,
    cancel: threading.Event,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
    grace: float = GRACE,
    tag: str | None = None,
) -> ProcessResult:
    """Run `command` to completion, deadline (a time.monotonic() value) or cancel.

    Every process it starts carries `MARKER=<tag>` in its environment (`tag`, made unique here, starts
    with what the caller gives: see `executors.base.process_tag`), so that a timeout finds those that
    left the process group, and `drill resume` finds those a killed runner left behind."""
    tag = f"{tag}/{secrets.token_hex(4)}" if tag else secrets.token_hex(16)
    try:
        proc = _spawn(command, cwd, env, tag)
    except OSError as exc:
        log.write(f"cannot start command: {exc}\n")
        return ProcessResult("exited", 127, f"cannot start command: {exc}")
    out = _Output(log, capture)
    try:
        status = _supervise(proc, out, deadline, cancel, grace, tag)
    finally:
        proc.close()
    code = proc.returncode if status == "exited" else None
    survivors = _survivors(proc.pid, tag) if status == "exited" else ()
    return ProcessResult(status, code, out.last_line, out.text if capture else "", survivors)


def _survivors(pgid: int, tag: str) -> tuple[tuple[int, str], ...]:
    """Processes the command left running after it exited (`nohup server &`): allowed, and listed.
    The full look through /proc is paid only when the command's process group is still there."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return ()
    found = find_processes(env=f"{MARKER}={tag}", pgid=pgid)  # the group too: one in execve shows no env
    return tuple((pid, _settled_command(pid)) for pid in sorted(found))


def _settled_command(pid: int) -> str:
    """The command line of a process that may be in the middle of execve() (then briefly empty)."""
    for _ in range(20):
        cmd = command_line(pid)
        if cmd:
            return cmd
        time.sleep(0.005)
    return "?"


def _supervise(
    proc: Child,
    out: _Output,
    deadline: float | None,
    cancel: threading.Event,
    grace: float,
    tag: str,
) -> ProcessStatus:
    pipe = proc.pipe
    os.set_blocking(pipe, False)
    pidfd = _pidfd(proc.pid)
    try:
        status, pipe_open = _watch(proc, pipe, pidfd, out, deadline, cancel)
        if status != "exited":
            stop_all(proc, tag, grace)
        if pipe_open:  # background children may still write: read what comes, for a short while
            _drain(pipe, out, time.monotonic() + DRAIN)
        else:
            out.feed(b"", final=True)
        return status
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _watch(
    proc: Child,
    pipe: int,
    pidfd: int | None,
    out: _Output,
    deadline: float | None,
    cancel: threading.Event,
) -> tuple[ProcessStatus, bool]:
    """Read output until the process exits; return early on deadline or cancel. Also says whether
    the output pipe is still open (a background child may hold it)."""
    pipe_open = True
    while True:
        if cancel.is_set():
            return "cancelled", pipe_open
        timeout = POLL_CANCEL
        if deadline is not None:
            timeout = min(timeout, deadline - time.monotonic())
            if timeout <= 0:
                return "timeout", pipe_open
        fds = [fd for fd in ((pipe if pipe_open else None), pidfd) if fd is not None]
        if not fds:  # no pidfd and the pipe is closed: fall back to a bounded wait
            proc.wait(timeout)
        else:
            ready, _, _ = select.select(fds, [], [], timeout if pidfd is not None else min(timeout, 0.005))
            if pipe_open and pipe in ready:
                pipe_open = _read(pipe, out)
        if proc.poll() is not None:
            return "exited", pipe_open


def _read(pipe: int, out: _Output) -> bool:
    """Read what is available; False at end of file."""
    try:
        data = os.read(pipe, 65536)
    except BlockingIOError:
        return True
    if not data:
        out.feed(b"", final=True)
        return False
    out.feed(data)
    return True


def _drain(pipe: int, out: _Output, until: float) -> None:
    while True:
        remaining = until - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([pipe], [], [], remaining)
        if not ready or not _read(pipe, out):
            break
    out.feed(b"", final=True)


SWEEPS = 3  # extra looks for tagged processes after the SIGKILL


def stop_all(proc: Child, tag: str, grace: float = GRACE) -> None:
    """Stop the process group and every process that left it but still carries `tag`."""
    marker = f"{MARKER}={tag}"
    end = time.monotonic() + grace
    signal_all(find_processes(env=marker), signal.SIGTERM)
    kill_group(proc, grace)
    # a fresh look (no stale pids): what is left gets the rest of the grace, then SIGKILL; then look
    # again, because a process in the middle of execve() shows no environment for an instant
    terminate(find_processes(env=marker), grace=max(0.0, end - time.monotonic()))
    for _ in range(SWEEPS):
        left = find_processes(env=marker)
        if not left:
            return
        terminate(left, grace=0.0)


def kill_group(proc: Child, grace: float = GRACE) -> None:
    """SIGTERM the process group, wait up to `grace` for it to vanish, then SIGKILL what is left."""
    pgid = proc.pid  # start_new_session=True: the leader's pid is the group id
    if not _signal_group(pgid, signal.SIGTERM):
        proc.wait()
        return
    end = time.monotonic() + grace
    while time.monotonic() < end:
        proc.poll()
        if proc.returncode is not None and not _group_alive(pgid):
            return
        time.sleep(0.01)
    _signal_group(pgid, signal.SIGKILL)
    proc.wait()


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    """True while a member of the group is running (zombies awaiting their reaper do not count)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no /proc: trust killpg
    return any(_running_in_group(pid, pgid) for pid in entries if pid.isdigit())


def _running_in_group(pid: str, pgid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X")
