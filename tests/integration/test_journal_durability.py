"""Nothing acts on a journal line before it is on disk, although a step's end shares its sync.

A real run (real processes, the real journal on disk) with the journal's `fdatasync` and the
process spawn observed: at every sync the file's size is noted (what that sync made durable);
at every spawn, which step it starts; every listener call, which line it is told of. Then, by
byte offsets in the journal:
- a step's command starts only after its own `step.started` line is durable — and so after the
  `step.finished` of every step it needs, which comes earlier in the file;
- a listener is told of a line only once it is durable;
- a chain of steps costs one sync per step, not two (a step's `step.finished` shares the sync
  of the next `step.started`).
"""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from bcdrill.executors.base import RunOptions
from bcdrill.executors.transport import process
from bcdrill.record import journal as journal_module
from bcdrill.record.events import Record
from bcdrill.record.journal import read_journal, verify_journal
from bcdrill.run.request import RunRequest
from bcdrill.run.runner import run_scenario
from bcdrill.scenario.loader import load_scenario

HEAD = """\
version: 1
name: durable
title: durability of the journal
environment: lab
defaults: {timeout: 30s, retries: 0, retry_delay: 0s, on_failure: abort}
"""


class Observer:
    """Syncs, spawns and listener calls, in the order they happen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.synced = 0  # bytes of the journal made durable so far
        self.syncs = 0
        self.spawned: list[tuple[str, int]] = []  # (step, durable bytes when its command started)
        self.told: list[tuple[int, int]] = []  # (seq, durable bytes when a listener got it)

    def on_event(self, record: Record) -> None:
        with self.lock:
            self.told.append((record["seq"], self.synced))


def observed_run(
    tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch, parallel: int
) -> tuple[Observer, Path]:
    obs = Observer()
    real_sync, real_spawn = journal_module._sync, process._spawn

    def sync(fd: int) -> None:
        size = os.fstat(fd).st_size  # taken before the sync: every byte written by then is covered
        real_sync(fd)
        with obs.lock:
            obs.synced = max(obs.synced, size)
            obs.syncs += 1

    def spawn(command: Any, cwd: Any, env: Any, tag: str) -> process.Child:
        with obs.lock:
            obs.spawned.append((command[-1], obs.synced))  # each command's last word names its step
        return real_spawn(command, cwd, env, tag)

    monkeypatch.setattr(journal_module, "_sync", sync)
    monkeypatch.setattr(process, "_spawn", spawn)
    path = tmp_path / "durable.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    run_dir = tmp_path / "run"
    request = RunRequest(
        options=RunOptions(auto_ack=True),
        parallel=parallel,
        argv=("drill",),
        run_dir=run_dir,
        listeners=[obs],
    )
    run_scenario(load_scenario(path), request)
    assert verify_journal(run_dir / "journal.jsonl").ok
    return obs, run_dir


def line_ends(run_dir: Path) -> list[int]:
    """The byte offset just past each journal line."""
    ends, total = [], 0
    for line in (run_dir / "journal.jsonl").read_bytes().splitlines(keepends=True):
        total += len(line)
        ends.append(total)
    return ends


DAG = """\
systems: {}
steps:
  - {id: a, run: [echo, a]}
  - {id: b, needs: [a], run: [sh, -c, 'sleep 0.05; echo b', b]}
  - {id: c, needs: [a], run: [sh, -c, 'exit 3', c], on_failure: ignore}
  - {id: d, needs: [b, c], run: [sh, -c, 'echo d', d], retries: 1}
  - {id: e, needs: [d], run: [echo, e]}
  - {id: f, needs: [a], run: [echo, f]}
"""


@pytest.mark.parametrize("parallel", [1, 3])
def test_nothing_acts_on_a_line_before_it_is_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: int
) -> None:
    obs, run_dir = observed_run(tmp_path, DAG, monkeypatch, parallel)
    records = read_journal(run_dir / "journal.jsonl")
    ends = line_ends(run_dir)
    started = {r["step"]: r["seq"] for r in records if r["event"] == "step.started"}
    finished = {r["step"]: r["seq"] for r in records if r["event"] == "step.finished" and r["final"]}
    assert sorted(s for s, _ in obs.spawned) == ["a", "b", "c", "d", "e", "f"]
    for step, durable in obs.spawned:
        assert durable >= ends[started[step]], f"{step} started before its step.started line was synced"
    for step, need in [("b", "a"), ("c", "a"), ("d", "b"), ("d", "c"), ("e", "d"), ("f", "a")]:
        assert finished[need] < started[step]  # so the need's end was durable before the step ran
    assert sorted(seq for seq, _ in obs.told) == [r["seq"] for r in records]  # every line, once
    for seq, durable in obs.told:
        assert durable >= ends[seq], f"a listener was told of line {seq} before it was synced"
    assert obs.synced == ends[-1]  # the run ends with everything on disk


def test_a_chain_of_steps_costs_one_sync_per_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = "".join(f"  - {{id: s{i}, run: [echo, s{i}]}}\n" for i in range(20))
    obs, run_dir = observed_run(tmp_path, "systems: {}\nsteps:\n" + steps, monkeypatch, 1)
    records = read_journal(run_dir / "journal.jsonl")
    assert [r["event"] for r in records].count("step.finished") == 20
    # run.started, clock.declared (T0 = the start: nothing declares), 20 × step.started (whose sync
    # also covers the previous step's step.finished), the last step.finished (the worker settles
    # it before it stops) and run.finished: 24 syncs for 43 lines, where a sync per line took 43
    assert len(records) == 43 and obs.syncs <= 24, f"{obs.syncs} syncs for {len(records)} lines"
    for seq, durable in obs.told:
        assert durable >= line_ends(run_dir)[seq]


def test_a_step_end_is_told_while_other_steps_still_run(tmp_path: Path) -> None:
    """A worker with nothing to start next settles the end it deferred: the listeners (the console,
    the notifications) hear of it at once, not when the long step beside it ends."""
    marker = tmp_path / "long-runs"
    body = f"""\
    systems: {{}}
    steps:
      - {{id: quick, run: [sh, -c, 'until [ -e {marker} ]; do sleep 0.01; done', quick]}}
      - {{id: long, needs: [], run: [sh, -c, 'touch {marker}; sleep 1', long]}}
    """  # quick ends once long runs, so no step.started follows quick's end to sync it
    seen: dict[str, bool] = {}
    journal = tmp_path / "run" / "journal.jsonl"

    class Watch:
        def on_event(self, record: Record) -> None:
            if record["event"] == "step.finished" and record["step"] == "quick":
                seen["long ended by then"] = any(
                    r["event"] == "step.finished" and r["step"] == "long" for r in read_journal(journal)
                )

    path = tmp_path / "d.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    request = RunRequest(
        options=RunOptions(auto_ack=True),
        parallel=2,
        argv=("drill",),
        run_dir=tmp_path / "run",
        listeners=[Watch()],
    )
    run_scenario(load_scenario(path), request)
    assert seen == {"long ended by then": False}
