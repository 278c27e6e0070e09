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

    def system(self, name: str) -> dict[str, Any]:
        summary = json.loads((self.run_dir / "summary.json").read_text(encoding="utf-8"))
        found: dict[str, Any] = summary["systems"][name]
        return found


def run_drill(scenario: Path, run_dir: Path, inventory: Path, variables: dict[str, str]) -> Drill:
    argv = ["run", str(scenario), "--run-dir", str(run_dir), "--auto-ack", "--inventory", str(inventory)]
    argv += [arg for name, value in variables.items() for arg in ("--var", f"{name}={value}")]
    result = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *argv], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    return Drill(result, run_dir)
