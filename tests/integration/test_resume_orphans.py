"""kill -9 of the runner while steps run: `drill resume` finds the processes the killed runner left,
waits for them (or kills them at the end of the step's timeout), journals it, and never lets a
non-idempotent step's effect be applied twice. Real processes, the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def journal(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()]


def start_and_kill(tmp_path: Path, steps: str, step: str) -> Path:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"version: 1\nname: s\ntitle: s\nenvironment: lab\nsystems: {{}}\nsteps:\n{steps}")
    run_dir = tmp_path / "run"
    runner = subprocess.Popen(
        [sys.executable, "-m", "bcdrill.cli", "run", str(scenario), "--run-dir", str(run_dir)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (run_dir / "journal.jsonl").exists() and any(
            e["event"] == "step.started" and e["step"] == step for e in journal(run_dir)
        ):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(runner.pid, signal.SIGKILL)  # the runner only: its step keeps running, as after a crash
    runner.wait()
    return run_dir


@pytest.mark.parametrize("attempt", range(3))
def test_a_step_still_running_after_kill_9_is_never_applied_twice(tmp_path: Path, attempt: int) -> None:
    effect = tmp_path / "effect"
    run_dir = start_and_kill(
        tmp_path, f"  - {{id: work, run: 'sleep 2 && echo applied >> {effect}', timeout: 30s}}\n", "work"
    )
    assert not effect.exists()  # the operator looks: no effect yet, and chooses --rerun
    first = drill("resume", str(run_dir), "--rerun", "work", cwd=tmp_path)
    assert first.returncode == 2, first.stderr
    assert "process(es) of attempt 1 still run" in first.stderr and "check its effect again" in first.stderr
    assert effect.read_text().count("applied") == 1  # the earlier attempt finished while resume waited
    (orphans,) = [e for e in journal(run_dir) if e["event"] == "step.orphans"]
    assert orphans["step"] == "work" and orphans["ended"] and not orphans["killed"], orphans
    second = drill("resume", str(run_dir), "--mark-done", "work", "--by", "Li Si", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert effect.read_text().count("applied") == 1  # 0 double executions


def test_orphans_still_running_at_the_end_of_the_timeout_are_killed(tmp_path: Path) -> None:
    marker = f"bcdrill-orphan-{os.getpid()}-{time.monotonic_ns()}"
    run_dir = start_and_kill(tmp_path, f"  - {{id: hang, run: 'sleep 60 # {marker}', timeout: 3s}}\n", "hang")
    result = drill("resume", str(run_dir), cwd=tmp_path)
    assert result.returncode == 2 and "check its effect" in result.stderr  # not idempotent: a person decides
    (orphans,) = [e for e in journal(run_dir) if e["event"] == "step.orphans"]
    assert orphans["killed"] and not orphans["ended"], orphans
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert left == []  # 0 processes left


def test_a_step_may_leave_a_server_running_and_it_is_on_record(tmp_path: Path) -> None:
    marker = f"bcdrill-survivor-{os.getpid()}-{time.monotonic_ns()}"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "version: 1\nname: s\ntitle: s\nenvironment: lab\nsystems: {}\nsteps:\n"
        f"  - {{id: start-server, run: 'nohup sh -c \"sleep 30\" {marker} >/dev/null 2>&1 &'}}\n"
    )
    run_dir = tmp_path / "run"
    try:
        result = drill("run", str(scenario), "--run-dir", str(run_dir), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        (finished,) = [e for e in journal(run_dir) if e["event"] == "step.finished"]
        assert finished["status"] == "ok"
        assert any(marker in s["cmd"] for s in finished["survivors"]), finished  # (nohup) sh -c …: either
    finally:
        subprocess.run(["pkill", "-f", marker], check=False)
