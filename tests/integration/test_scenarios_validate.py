"""Every shipped scenario stays valid, so examples never rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_shipped_scenario_validates(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok: {path}"


def test_there_are_shipped_scenarios() -> None:
    assert any(p.name == "annual-drill.yaml" for p in SCENARIOS)
