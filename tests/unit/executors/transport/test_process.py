"""process.run_process: streaming, exit codes, timing, and killing whole process groups."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from bcdrill.executors.transport import process
from bcdrill.executors.transport.process import run_process


class Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_output_is_streamed_line_by_line_and_last_line_kept() -> None:
    sink = Sink()
    result = run_process(
        "echo one; echo two >&2; printf 'three\\n\\n'",
        log=sink,
        deadline=None,
        cancel=threading.Event(),
        capture=True,
    )
    assert result.status == "exited" and result.exit_code == 0
    assert sink.lines == ["one\n", "two\n", "three\n", "\n"]
    assert result.last_line == "three" and result.output == "one\ntwo\nthree\n\n"


def test_argv_env_cwd_and_exit_code(tmp_path: Path) -> None:
    sink = Sink()
    result = run_process(
        ("sh", "-c", 'echo "$GREETING from $(pwd)"; exit 7'),
        log=sink,
        deadline=None,
        cancel=threading.Event(),
        cwd=str(tmp_path),
        env={"GREETING": "hi"},
    )
    assert result.exit_code == 7 and result.last_line == f"hi from {tmp_path}"


def test_missing_program_is_exit_127() -> None:
    result = run_process(("/no/such/program",), log=Sink(), deadline=None, cancel=threading.Event())
    assert result.exit_code == 127 and "cannot start" in (result.last_line or "")
    assert "/no/such/program" in (result.last_line or "")  # the program is named


SIGPIPE_BIT = 1 << (signal.SIGPIPE - 1)


@pytest.mark.parametrize("how", ["posix_spawn", "without close_range", "with cwd", "with its own PATH"])
def test_a_command_gets_only_0_1_2_and_default_signals(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whichever way it is started, a command inherits no other descriptor of the runner (an
    inheritable one included) and SIGPIPE at its default (Python ignores it), so `yes | head` ends."""
    if how == "without close_range":  # an older kernel or C library: each descriptor is looked at
        monkeypatch.setattr(process, "_close_range", lambda first, last, flags: -1)
    opened = os.open(tmp_path, os.O_RDONLY)
    leaked = os.dup2(opened, 200)  # inheritable, as os.dup2 makes it; far from the shell's own fd 10
    os.close(opened)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    probe = bindir / "probe"
    probe.write_text("#!/bin/sh\nls /proc/$$/fd | tr '\\n' ' '; echo; grep SigIgn /proc/$$/status\n")
    probe.chmod(0o755)
    cwd = str(tmp_path) if how == "with cwd" else None
    env = {"PATH": f"{bindir}:{os.environ['PATH']}"} if how == "with its own PATH" else None
    command = ("probe",) if env else (str(probe),)
    try:
        result = run_process(
            command, log=Sink(), deadline=None, cancel=threading.Event(), cwd=cwd, env=env, capture=True
        )
    finally:
        os.close(leaked)
    fds_line, sigign_line = result.output.splitlines()
    assert result.exit_code == 0
    fds = {int(fd) for fd in fds_line.split()}
    # (the shell has its own too: 10 for the script, the pipe to `tr` while it starts it)
    assert {0, 1, 2} <= fds and leaked not in fds, fds_line
    assert int(sigign_line.split()[1], 16) & SIGPIPE_BIT == 0, sigign_line
    piped = run_process(
        "yes | head -n 2", log=Sink(), deadline=time.monotonic() + 10, cancel=threading.Event()
    )
    assert piped.status == "exited" and piped.exit_code == 0


def test_timeout_kills_the_whole_group_including_term_ignoring_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"echo $$ > {pidfile}; trap '' TERM; (trap '' TERM; sleep 60) & sleep 60 & sleep 60"
    t = time.monotonic()
    result = run_process(
        script, log=Sink(), deadline=time.monotonic() + 0.3, cancel=threading.Event(), grace=0.3
    )
    took = time.monotonic() - t
    assert result.status == "timeout" and result.exit_code is None
    assert 0.3 <= took < 10  # killed after timeout + grace, not after the 60 s sleeps
    pgid = int(pidfile.read_text())
    time.sleep(0.05)
    assert group_members(pgid) == []


def test_cancel_stops_the_command_quickly() -> None:
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    t = time.monotonic()
    result = run_process("sleep 30", log=Sink(), deadline=None, cancel=cancel)
    assert result.status == "cancelled"
    assert time.monotonic() - t < 10  # stopped by the cancel, not after the 30 s sleep


def test_background_child_holding_the_pipe_does_not_hang_the_step() -> None:
    t = time.monotonic()
    result = run_process("sleep 5 & echo started", log=Sink(), deadline=None, cancel=threading.Event())
    assert result.status == "exited" and result.last_line == "started"
    assert time.monotonic() - t < 4.5  # did not wait for the 5 s background child


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_timeout_also_stops_children_that_left_the_process_group(tmp_path: Path) -> None:
    """`setsid` children escape the group; they are found by the tag in their environment."""
    pids = tmp_path / "pids"
    script = (
        f"setsid sh -c 'echo $$ >> {pids}; exec sleep 60' & "
        f"setsid sh -c 'trap \"\" TERM; echo $$ >> {pids}; sleep 60' & "
        f"while [ $(wc -l < {pids} 2>/dev/null || echo 0) -lt 2 ]; do sleep 0.01; done; echo ready; sleep 60"
    )
    sink = Sink()
    cancel = threading.Event()

    def cancel_when_ready() -> None:
        while "ready\n" not in sink.lines:
            time.sleep(0.01)
        cancel.set()

    threading.Thread(target=cancel_when_ready, daemon=True).start()
    result = run_process(script, log=sink, deadline=None, cancel=cancel, grace=0.3)
    assert result.status == "cancelled"
    escaped = [int(line) for line in pids.read_text().split()]
    assert len(escaped) == 2
    assert [pid for pid in escaped if _alive(pid)] == []


def test_a_long_line_in_many_chunks_is_one_line_and_lines_split_as_before() -> None:
    from bcdrill.executors.transport.process import _Output

    sink = Sink()
    out = _Output(sink, capture=True)
    for _ in range(2000):  # 2000 reads of one line that has not ended: kept in pieces, joined once
        out.feed(b"x" * 100)
    # the work per read is the read's size: the pieces are kept as they came, never re-joined and
    # re-scanned per read (that made one 40 MB line cost 76 x a 5 MB one; bench/bench_output.py)
    assert [len(piece) for piece in out._partial] == [100] * 2000
    out.feed(b"\r\nnext\rthird\n", final=False)
    out.feed(b"tail", final=True)
    assert sink.lines == ["x" * 200_000 + "\r\n", "next\r\n", "third\n", "tail\n"]  # as splitlines
    assert out.last_line == "tail"


def test_a_command_that_cannot_be_spawned_leaves_no_descriptor_open() -> None:
    """posix_spawnp refuses a NUL byte with ValueError (the loader refuses it first): the pipe made for
    the command's output is closed again, whatever the error — a polled check would otherwise leak one
    descriptor per poll until the runner can open no more."""
    before = set(os.listdir("/proc/self/fd"))
    for _ in range(5):
        with pytest.raises(ValueError):
            run_process(("echo", "a\0b"), log=Sink(), deadline=None, cancel=threading.Event())
    assert set(os.listdir("/proc/self/fd")) == before
