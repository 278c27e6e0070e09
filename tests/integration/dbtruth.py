"""What the reference-database tests take from the servers on their own, to check the drill against:
production traffic (a writer committing a row every 50 ms until the primary stops answering), the
moment the DR server is promoted (a poller every 20 ms), and the drill's own figures from its run."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


class Writer(threading.Thread):
    """Calls `write` every 50 ms until it raises (the primary is gone); counts the commits."""

    def __init__(self, write: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.write = write
        self.committed = 0

    def run(self) -> None:
        while True:
            try:
                self.write()
            except (RuntimeError, subprocess.TimeoutExpired):
                return
            self.committed += 1
            time.sleep(0.05)


class Watch(threading.Thread):
    """The wall time `ready()` first answers True (errors count as not yet), polled every 20 ms."""

    def __init__(self, ready: Callable[[], bool]) -> None:
        super().__init__(daemon=True)
        self.ready = ready
        self.at: float | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.at is None:
            try:
                if self.ready():
                    self.at = time.time()
            except RuntimeError:
                pass
            time.sleep(0.02)


@dataclass
class Drill:
    """A finished `drill run`: its output, T0 (wall clock) and one system's summary."""

    result: subprocess.CompletedProcess[str]
    run_dir: Path

    @property
    def t0(self) -> float:
        text = (self.run_dir / "journal.jsonl").read_text(encoding="utf-8")
        declared = next(r for r in map(json.loads, text.splitlines()) if r["event"] == "clock.declared")
        return datetime.fromisoformat(declared["t0_ts"].replace("Z", "+00:00")).timestamp()

    def tasks(self, step: str) -> dict[str, str]:
        """The status of each Ansible task of `step` (journal `ansible.task` events)."""
        text = (self.run_dir / "journal.jsonl").read_text(encoding="utf-8")
        records = map(json.loads, text.splitlines())
        return {r["task"]: r["status"] for r in records if r["event"] == "ansible.task" and r["step"] == step}

    def system(self, name: str) -> dict[str, Any]:
        summary = json.loads((self.run_dir / "summary.json").read_text(encoding="utf-8"))
        found: dict[str, Any] = summary["systems"][name]
        return found


def run_drill(
    scenario: Path, run_dir: Path, inventory: Path, variables: dict[str, str], *, dry_run: bool = False
) -> Drill:
    """`drill run` of `scenario` (auto-acknowledged, or a --dry-run); it must exit 0."""
    argv = ["run", str(scenario), "--run-dir", str(run_dir), "--auto-ack", "--inventory", str(inventory)]
    argv += ["--dry-run"] if dry_run else []
    argv += [arg for name, value in variables.items() for arg in ("--var", f"{name}={value}")]
    result = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *argv], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    return Drill(result, run_dir)


@dataclass
class Truth:
    """What the servers say happened, as Unix times: T0 (from the drill's journal), the first moment the
    poller found DR promoted, the DR server's own timestamp of the drill's proving write, and the newest
    production row DR holds."""

    t0: float
    promoted: float
    dr_write: float
    newest: float

    @property
    def rto(self) -> float:
        """The true RTO: the drill's proving write, committed at DR, by DR's clock."""
        return self.dr_write - self.t0

    @property
    def rpo(self) -> float:
        return self.t0 - self.newest

    def compare(self, system: dict[str, Any]) -> str:
        rto, rpo = system["rto_achieved"], system["rpo_achieved"]
        return (
            f"RTO measured {rto:.3f}s, DR write committed at {self.rto:.3f}s"
            f" ({round((rto - self.rto) * 1000):+d} ms), DR promoted at {self.promoted - self.t0:.3f}s;"
            f" RPO measured {rpo:.3f}s, newest production row at DR {self.rpo:.3f}s before T0"
            f" ({round((rpo - self.rpo) * 1000):+d} ms)"
        )

    def check(self, system: dict[str, Any]) -> None:
        """Agreement within 1 s, and the drill never claims DR before the servers were there."""
        rto, rpo = system["rto_achieved"], system["rpo_achieved"]
        assert abs(rto - self.rto) < 1.0, self.compare(system)
        assert abs(rpo - self.rpo) < 1.0, self.compare(system)
        # the step that recovers the system ends after its write committed (same host, same clock) ...
        assert rto >= self.rto - 0.05, self.compare(system)
        # ... and after DR was promoted (the poller sees it up to one poll, 20 ms, late)
        assert rto >= self.promoted - self.t0 - 0.1, self.compare(system)
        assert system["rto_met"] is True and system["rpo_met"] is True


SKIPPED_AFTER = "Nothing was failed over in a dry run, so the new direction cannot be checked"


def check_rehearsal(
    rehearsal: Drill, read_task: str, judge_task: str, fence_step: str, fence_task: str
) -> None:
    """A --dry-run rehearsal checks replication for real before, skips the check in the new direction
    after (nothing was failed over), and fences nothing."""
    assert rehearsal.tasks("replication-ok") == {read_task: "ok", SKIPPED_AFTER: "skipped", judge_task: "ok"}
    assert rehearsal.tasks("replication-back") == {
        read_task: "ok",
        SKIPPED_AFTER: "ok",
        judge_task: "skipped",
    }
    assert rehearsal.tasks(fence_step) == {fence_task: "skipped"}


def drill_under_traffic(
    scenario: Path,
    run_dir: Path,
    inventory: Path,
    variables: dict[str, str],
    write: Callable[[], object],
    promoted: Callable[[], bool],
) -> tuple[Drill, float]:
    """Production writes (until the drill's disaster stops them) while the drill runs, and the moment
    the poller first saw DR promoted."""
    writer, watch = Writer(write), Watch(promoted)
    writer.start()
    watch.start()
    time.sleep(1.0)  # some production traffic has replicated
    try:
        drill = run_drill(scenario, run_dir, inventory, variables)
    finally:
        watch.done.set()
        writer.join(30)
    assert writer.committed > 10 and not writer.is_alive()
    assert watch.at is not None
    return drill, watch.at


def wait_until(found: Callable[[], bool], failure: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not found():
        assert time.monotonic() < deadline, failure
        time.sleep(0.1)
