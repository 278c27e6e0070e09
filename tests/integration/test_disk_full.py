"""A full disk mid-run: the run stops cleanly (exit 3, a message, no traceback), the journal keeps every
whole line and verifies, and the run resumes to the end once there is space again.

The run directory lives on a small tmpfs the test mounts (root needed; skipped otherwise)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_run_cleanly_and_it_resumes_later(tmp_path: Path, small_disk: Path) -> None:
    steps = "\n".join(f"  - {{id: s{i}, run: 'true', idempotent: true}}" for i in range(300))
    scenario = tmp_path / "full.yaml"
    scenario.write_text(
        f"version: 1\nname: full\ntitle: full\nenvironment: lab\nsystems: {{}}\nsteps:\n{steps}\n"
    )
    run_dir = small_disk / "run"
    result = drill("run", str(scenario), "--run-dir", str(run_dir), cwd=tmp_path)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "cannot write the journal (No space left on device)" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    copy = tmp_path / "run"  # "space is back": the run directory on a disk with room
    shutil.copytree(run_dir, copy)
    journal = (copy / "journal.jsonl").read_bytes()
    assert journal.endswith(b"\n")  # the line being written when the disk filled is not half there
    assert 10 < journal.count(b'"event":"step.finished"') < 300  # the disk filled in the middle
    verified = drill("verify", str(copy), cwd=tmp_path)
    assert verified.returncode == 0 and "NOT FINISHED" in verified.stdout, verified.stdout + verified.stderr
    resumed = drill("resume", str(copy), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert drill("verify", str(copy), cwd=tmp_path).returncode == 0
    finished = (copy / "journal.jsonl").read_text().count('"event":"step.finished"')
    assert finished >= 300
