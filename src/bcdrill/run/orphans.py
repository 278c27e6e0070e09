"""Processes a killed runner left running: found, waited for or killed, and journaled by `drill resume`
before it decides anything, so that no step is started while an earlier attempt of it still runs.

Every local process of a step carries `BCDRILL_PROC=<run>/<step>/<attempt>/...` in its environment
(`executors.base.process_tag`), which the processes it starts inherit, wherever they move (setsid,
double fork). Remote processes (SSH) and what Ansible runs on other hosts cannot be found from here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bcdrill.common.duration import format_duration
from bcdrill.common.errors import RunDirError
from bcdrill.common.redact import Redactor
from bcdrill.common.timestamps import parse_ts, utc_ts
from bcdrill.executors.base import step_tag_prefix
from bcdrill.executors.transport.process import MARKER
from bcdrill.executors.transport.proctree import command_line, find_processes, terminate
from bcdrill.record import events as ev
from bcdrill.record.events import Process, StepStarted
from bcdrill.record.journal import Journal
from bcdrill.scenario.model import Scenario

POLL = 0.2  # seconds between looks while waiting for orphans to end


def settle_orphans(
    run_dir: Path,
    scn: Scenario,
    in_flight: dict[str, StepStarted],
    journal_path: Path,
    redactor: Redactor,
    rerun: Sequence[str],
) -> None:
    """Wait for (within the step's remaining timeout) or kill the processes of every in-flight step that
    still run, journal what was done, and refuse a `--rerun` chosen while they still ran."""
    found = {sid: pids for sid in in_flight if (pids := _of_step(run_dir, sid))}
    if not found:
        return
    journal = Journal.reopen(journal_path, redactor=redactor)
    try:
        for sid, pids in found.items():
            _settle(journal, sid, in_flight[sid], pids, _remaining(scn, sid, in_flight[sid]))
    finally:
        journal.close()
    chosen = [sid for sid in found if sid in rerun]
    if chosen:
        raise RunDirError(
            "\n".join(
                f"step {sid}: its earlier attempt was still running when --rerun was chosen (see the "
                f"journal's step.orphans line) and has ended now — check its effect again, then resume "
                f"with --rerun {sid} or --mark-done {sid} --by NAME"
                for sid in chosen
            )
        )


def _of_step(run_dir: Path, sid: str) -> set[int]:
    return find_processes(env_prefix=f"{MARKER}={step_tag_prefix(run_dir, sid)}")


def _remaining(scn: Scenario, sid: str, started: StepStarted) -> float:
    """Seconds left of the step's timeout since its attempt started (0 without a timeout: kill now)."""
    timeout = scn.step(sid).timeout
    if timeout is None:
        return 0.0
    elapsed = (parse_ts(utc_ts()) - parse_ts(started["ts"])).total_seconds()
    return max(0.0, timeout - elapsed)


def _settle(journal: Journal, sid: str, started: StepStarted, pids: set[int], within: float) -> None:
    commands = {pid: command_line(pid) for pid in sorted(pids)}
    found: list[Process] = [{"pid": pid, "cmd": cmd} for pid, cmd in commands.items()]
    say(
        f"step {sid}: {len(pids)} process(es) of attempt {started['attempt']} still run after the runner "
        f"stopped ({'; '.join(cmd or str(pid) for pid, cmd in commands.items())[:300]}) — waiting up to "
        f"{format_duration(within)} (the rest of its timeout) for them to end, then killing them"
    )
    start = time.monotonic()
    left = set(pids)
    while left and time.monotonic() - start < within:
        time.sleep(POLL)
        left = {pid for pid in left if _alive(pid)}
    terminate(left)
    waited = round(time.monotonic() - start, 3)
    ended, killed = sorted(pids - left), sorted(left)
    journal.write(
        ev.step_orphans(
            step=sid, attempt=started["attempt"], found=found, waited=waited, ended=ended, killed=killed
        )
    )
    after = format_duration(waited)
    say(f"step {sid}: {len(ended)} ended by themselves, {len(killed)} killed (after {after})")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def say(text: str) -> None:
    print(f"drill resume: {text}", file=sys.stderr)
