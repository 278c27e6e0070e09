"""DESIGN §3: a Python check returning `data_timestamp` measures the RPO of its step's systems."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHECK = """\
from datetime import datetime, timedelta, timezone


def newest(minutes):
    when = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    return {"ok": True, "detail": "replica caught up", "data_timestamp": when.isoformat()}
"""

SCENARIO = """\
version: 1
name: rpo-python
title: RPO 由检查函数测量 / RPO from a Python check
environment: lab
systems: {db: {rpo: 30m}, web: {rpo: 30m}}
steps:
  - {id: declare, run: "true", declares: true}
  - {id: up, run: "true", recovers: [db, web]}
  - id: db-rpo
    systems: [db]
    check: {python: "checks/newest.py:newest", args: {minutes: 10}}
  - id: web-rpo
    systems: [web]
    rpo_of: [web]
    check: {python: "checks/newest.py:newest", args: {minutes: 40}}
"""


def test_python_check_timestamp_measures_rpo_with_or_without_rpo_of(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "newest.py").write_text(CHECK)
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", "run", str(tmp_path / "s.yaml"), "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1, result.stderr  # web's RPO (40m) misses its 30m target
    systems = json.loads((run_dir / "summary.json").read_text())["systems"]
    assert systems["db"]["rpo_met"] is True and 590 < systems["db"]["rpo_achieved"] < 620
    assert systems["web"]["rpo_met"] is False and 2390 < systems["web"]["rpo_achieved"] < 2420
