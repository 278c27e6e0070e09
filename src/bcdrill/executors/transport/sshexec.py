"""Run one command over a pooled SSH transport; on timeout or cancel, kill its remote process group.

Closing a channel that has no pty does not stop the remote command, so every command runs in a
process group of its own, whose id it prints first (see `wrap_command`). The login shell runs::

    g=; read -r g g g g g _ </proc/$$/stat      # g = our process group (Linux)
    if [ "$g" != "$$" ] && command -v setsid; then
        exec setsid -w "$SHELL" -c 'echo __BCDRILL_PGID__ $$; exec 2>&1; eval "$1"' _ CMD
    fi
    echo __BCDRILL_PGID__ $$; exec 2>&1; eval CMD

OpenSSH makes each session's command a session (and process group) leader, so on Linux the common
path starts no extra process at all: CMD is evaluated by the login shell exactly as `ssh host CMD`
would run it. Elsewhere `setsid -w` (util-linux) starts a new group and waits for it, so the channel
still reports the command's exit status. stderr is sent into the stdout pipe on the server, so the
log keeps the order in which the command wrote (two pipes would interleave at random).
On timeout/cancel a second channel runs ``kill -TERM -PGID``, waits up to KILL_GRACE seconds for the
group to go, then ``kill -KILL -PGID``. The login shell must be POSIX-like (sh, bash, dash, ksh, zsh).
"""

from __future__ import annotations

import codecs
import shlex
import time
from dataclasses import dataclass
from typing import Any, Literal

from bcdrill.executors.base import LogSink, Outcome, StepContext
from bcdrill.executors.transport.sshpool import CONNECT_TIMEOUT, SshError, SshPool, SshTarget, connect

MARKER = "__BCDRILL_PGID__"
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
MARKER_WAIT = 5.0  # seconds to still wait for the group id of a command stopped before it arrived
CAPTURE_LIMIT = 1 << 20  # characters of output kept for `contains`/`matches`
_POLL = 0.25  # seconds between deadline/cancel checks while the command is silent


@dataclass(frozen=True)
class RemoteResult:
    """How a remote command ended. `status` is ok when it exited (whatever its exit code)."""

    status: Literal["ok", "timeout", "cancelled"]
    exit_code: int | None = None
    last_line: str | None = None
    output: str = ""  # only when run with capture=True (at most CAPTURE_LIMIT characters)
    pgid: int | None = None
    kill_note: str = ""  # on timeout/cancel: what was done to the remote processes


def wrap_command(command: str) -> str:
    """The command line sent to the server: CMD in its own process group, announcing the group id.

    It runs in the account's login shell (as `ssh host CMD` would), which must be POSIX-like.
    Its standard input is /dev/null, so nothing waits for input; the channel's input is never closed
    from this side: an EOF racing the server's close of a finished command's channel made OpenSSH
    drop the whole connection ("ieof packet referred to nonexistent channel"), with every other
    step's command on it. `read g g g g g _ </proc/$$/stat` leaves the 5th field, the process group,
    in `g`.
    """
    quoted = shlex.quote(command)
    inner = f'echo {MARKER} $$; exec 2>&1; eval "$1"'
    setsid = f'exec setsid -w "${{SHELL:-/bin/sh}}" -c {shlex.quote(inner)} _ {quoted}'
    return (
        "exec </dev/null; g=; read -r g g g g g _ </proc/$$/stat 2>/dev/null; "
        f'if [ "$g" != "$$" ] && command -v setsid >/dev/null 2>&1; then {setsid}; fi; '
        f"echo {MARKER} $$; exec 2>&1; eval {quoted}"
    )


def kill_script(pgid: int, grace: float = KILL_GRACE) -> str:
    """POSIX sh (dash's kill has no `--`): TERM the group, wait for it to go, then KILL what is left."""
    ticks = max(int(grace * 10), 1)
    script = (
        f"kill -TERM -{pgid} 2>/dev/null || exit 0; i=0; "
        f"while [ $i -lt {ticks} ] && kill -0 -{pgid} 2>/dev/null; do sleep 0.1; i=$((i+1)); done; "
        f"kill -KILL -{pgid} 2>/dev/null; exit 0"
    )
    return f"exec sh -c {shlex.quote(script)}"


def run_remote(ctx: StepContext, target: SshTarget, command: str, *, capture: bool = False) -> RemoteResult:
    """Run `command` on `target`, streaming its output (stdout and stderr merged) to ctx.log.

    Raises SshError when no channel could be opened (unreachable, host key, auth, protocol).
    """
    pool = ctx.resources.get("ssh", SshPool)
    chan, transport = _open_channel(pool, target, ctx)
    reader = _OutputReader(ctx.log, capture)
    try:
        chan.set_combine_stderr(True)
        try:
            chan.exec_command(wrap_command(command))
        except Exception as exc:
            raise SshError("protocol", f"{target.endpoint} refused to run the command: {exc}") from None
        stopped = _pump(chan, reader, ctx) or _wait_exit(chan, ctx)
        if stopped is None:
            code = chan.recv_exit_status()
            return RemoteResult(
                "ok", None if code < 0 else code, reader.last_line, reader.text(), reader.pgid
            )
        if reader.pgid is None:
            _await_marker(chan, reader)
        note = _kill_group(pool, target, transport, chan, reader.pgid)
        return RemoteResult(stopped, None, reader.last_line, reader.text(), reader.pgid, note)
    finally:
        chan.close()


def connect_failure(exc: SshError, ctx: StepContext) -> Outcome:
    """Outcome for a command that could not start: timeout if the step's deadline passed, else failed."""
    if ctx.cancel.is_set():
        return Outcome("cancelled", detail=exc.message)
    return Outcome("timeout" if ctx.expired() else "failed", detail=exc.message)


def stopped_outcome(result: RemoteResult, target: SshTarget, ctx: StepContext) -> Outcome:
    """Outcome for a command stopped by the deadline or by cancel (its group was killed)."""
    if result.status == "timeout":
        after = ctx.step.timeout
        when = f"after {after:g}s " if after is not None else ""
        detail = f"remote command timed out {when}on {target.label}; {result.kill_note}"
        return Outcome("timeout", detail=detail, last_line=result.last_line)
    detail = f"remote command cancelled on {target.label}; {result.kill_note}"
    return Outcome("cancelled", detail=detail, last_line=result.last_line)


def _budget(ctx: StepContext) -> float:
    remaining = ctx.remaining()
    return CONNECT_TIMEOUT if remaining is None else max(min(remaining, CONNECT_TIMEOUT), 0.01)


def _open_channel(pool: SshPool, target: SshTarget, ctx: StepContext) -> tuple[Any, Any]:
    """A new session channel on the pooled transport; reconnects once if the transport died.

    A server that refuses the channel (OpenSSH MaxSessions, default 10 per connection) is asked again
    until the budget runs out: another step's channel will close.
    """
    import paramiko

    started = time.monotonic()
    give_up = started + _budget(ctx)
    reconnected, pause = False, 0.02
    while True:
        transport = pool.transport(target, timeout=_budget(ctx), log=ctx.log)
        try:
            return open_session(transport, timeout=_budget(ctx)), transport
        except ChannelRefused as exc:
            now = time.monotonic()
            if now >= give_up or ctx.cancel.is_set():
                waited = now - started
                raise SshError(
                    "timeout",
                    f"no free SSH session on {target.endpoint} within {waited:.1f}s: the server refused "
                    f"every new channel ({exc}); its MaxSessions limit is reached by other steps' commands",
                ) from None
            time.sleep(min(pause, give_up - now))
            pause = min(pause * 2, 0.2)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            pool.discard(target, transport)
            if reconnected:
                msg = f"lost the SSH connection to {target.endpoint}: {exc}"
                raise SshError("unreachable", msg) from None
            reconnected = True


class ChannelRefused(Exception):
    """The server refused a new channel on a live connection (e.g. OpenSSH's MaxSessions is reached)."""


def open_session(transport: Any, *, timeout: float) -> Any:
    """`transport.open_session`, telling a refused channel (ChannelRefused) from a dead connection.

    paramiko keeps the reason of a refused channel open in one transport-wide slot, so with several
    threads opening channels at once the refused ones may get a bare SSHException("Unable to open
    channel.") instead of a ChannelException. Dropping the connection then would kill every command
    running on it, so whatever fails while the transport is still active counts as a refusal.
    """
    import paramiko

    try:
        return transport.open_session(timeout=timeout)
    except paramiko.ChannelException as exc:
        raise ChannelRefused(str(exc)) from None
    except paramiko.SSHException as exc:
        if transport.is_active():
            raise ChannelRefused(str(exc) or "channel refused") from None
        raise


def _stop_reason(ctx: StepContext) -> Literal["timeout", "cancelled"] | None:
    if ctx.cancel.is_set():
        return "cancelled"
    return "timeout" if ctx.expired() else None


def _poll(ctx: StepContext) -> float:
    remaining = ctx.remaining()
    return _POLL if remaining is None else max(min(_POLL, remaining), 0.001)


def _pump(chan: Any, reader: _OutputReader, ctx: StepContext) -> Literal["timeout", "cancelled"] | None:
    """Copy output until EOF (None) or until the deadline passes / cancel is set."""
    while True:
        stop = _stop_reason(ctx)
        if stop is not None:
            return stop
        chan.settimeout(_poll(ctx))
        try:
            data = chan.recv(65536)
        except TimeoutError:
            continue
        if not data:
            reader.finish()
            return None
        reader.feed(data)


def _await_marker(chan: Any, reader: _OutputReader) -> None:
    """Stopped before the group id arrived (slow login shell rc files): wait a little for it, so the
    command that is about to start can still be killed instead of being left running."""
    give_up = time.monotonic() + MARKER_WAIT
    while reader.pgid is None and time.monotonic() < give_up:
        chan.settimeout(max(give_up - time.monotonic(), 0.001))
        try:
            data = chan.recv(65536)
        except TimeoutError:
            return
        if not data:
            return
        reader.feed(data)


def _wait_exit(chan: Any, ctx: StepContext) -> Literal["timeout", "cancelled"] | None:
    """After EOF, wait for the exit status (a command may close its output and keep running)."""
    while not chan.status_event.wait(_poll(ctx)):
        stop = _stop_reason(ctx)
        if stop is not None:
            return stop
    return None


def _kill_group(pool: SshPool, target: SshTarget, transport: Any, chan: Any, pgid: int | None) -> str:
    """Kill the command's process group over a second channel; return what happened (for the detail).

    The channel runs on the pooled connection when it has a free session slot. When the server
    refuses (every slot busy: OpenSSH keeps a session's slot until its command exits, so closing our
    channel would not free one) a separate connection is opened just for the kill; when the pooled
    connection died, it is reopened.
    """
    if pgid is None:
        return "its process group id was never received, so only the channel was closed"
    extra = None
    try:
        try:
            killer = open_session(transport, timeout=CONNECT_TIMEOUT)
        except ChannelRefused:
            extra = connect(target, timeout=CONNECT_TIMEOUT)
            killer = extra.open_session(timeout=CONNECT_TIMEOUT)
        except Exception:  # the transport died: reconnect through the pool
            transport = pool.transport(target, timeout=CONNECT_TIMEOUT)
            killer = open_session(transport, timeout=CONNECT_TIMEOUT)
        try:
            killer.exec_command(kill_script(pgid))
            if not killer.status_event.wait(KILL_GRACE + CONNECT_TIMEOUT):
                return f"killing process group {pgid} did not finish; the channel was closed"
        finally:
            killer.close()
    except Exception as exc:  # SshError, paramiko errors, socket errors
        return f"killing process group {pgid} failed ({exc}); the channel was closed"
    finally:
        if extra is not None:
            extra.close()
    chan.status_event.wait(1.0)  # let the `setsid -w` parent report the end of the group
    return f"process group {pgid} killed"


class _OutputReader:
    """Decodes the stream, strips the process-group marker line, logs, tracks the last non-empty line."""

    def __init__(self, log: LogSink, capture: bool) -> None:
        self._log = log
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._capture = capture
        self._parts: list[str] = []
        self._captured = 0
        self._head: str | None = ""  # output before the marker line; None once the marker was seen
        self._tail = ""  # the current (unfinished) line
        self.pgid: int | None = None
        self.last_line: str | None = None

    def feed(self, data: bytes) -> None:
        self._take(self._decoder.decode(data))

    def finish(self) -> None:
        self._take(self._decoder.decode(b"", final=True))
        if self._head:  # the marker never came: whatever came is still output
            self._emit(self._head)
        self._head = None
        if self._tail.strip():
            self.last_line = self._tail.strip()

    def text(self) -> str:
        return "".join(self._parts)

    def _take(self, text: str) -> None:
        if self._head is not None:
            text = self._strip_marker(self._head + text)
        if text:
            self._emit(text)

    def _strip_marker(self, text: str) -> str:
        start = text.find(MARKER + " ")
        end = text.find("\n", start) if start >= 0 else -1
        if end < 0:
            self._head = text if len(text) < 65536 else None
            return "" if self._head is not None else text
        digits = text[start + len(MARKER) + 1 : end].strip()
        self.pgid = int(digits) if digits.isdigit() else None
        self._head = None
        return text[:start] + text[end + 1 :]

    def _emit(self, text: str) -> None:
        self._log.write(text)
        if self._capture and self._captured < CAPTURE_LIMIT:
            piece = text[: CAPTURE_LIMIT - self._captured]
            self._parts.append(piece)
            self._captured += len(piece)
        lines = (self._tail + text).split("\n")
        self._tail = lines[-1][-65536:]
        for line in reversed(lines[:-1]):
            if line.strip():
                self.last_line = line.strip()
                break
