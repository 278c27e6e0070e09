"""The CLI surface: help everywhere, usage errors as exit 2 with a one-line message, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    "validate",
    "plan",
    "run",
    "resume",
    "ack",
    "note",
    "report",
    "verify",
    "export",
    "schema",
    "lab",
    "demo",
]


def drill(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = drill(command, "--help")
    assert result.returncode == 0
    assert f"drill {command}" in result.stdout


def test_top_level_help_lists_exit_codes() -> None:
    result = drill("--help")
    assert result.returncode == 0
    assert "exit codes" in result.stdout


def test_python_drill_py_is_the_same_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "drill.py"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.startswith("bcdrill ")


def test_bad_var_is_a_usage_error(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("version: 1\n")
    result = drill("validate", str(scenario), "--var", "novalue")
    assert result.returncode == 2
    assert "expected NAME=VALUE" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_option_is_exit_2() -> None:
    result = drill("run", "--no-such-option")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_run_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    marker = tmp_path / "ran"
    scenario.write_text(
        f"version: 1\nname: s\ntitle: t\nenvironment: lab\nsteps:\n  - {{id: a, run: 'touch {marker}'}}\n"
    )
    for option in (["--parallel", "0"], ["--metrics-textfile", str(tmp_path / "no" / "such" / "m.prom")]):
        result = drill("run", str(scenario), "--run-dir", str(tmp_path / "run"), *option)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert not marker.exists() and not (tmp_path / "run").exists()


def test_lab_mistakes_are_usage_errors_not_bugs(tmp_path: Path) -> None:
    status = drill("lab", "--lab-dir", str(tmp_path / "none"), "status")
    assert status.returncode == 2 and "no lab in" in status.stderr
    fault = drill("lab", "--lab-dir", str(tmp_path / "lab"), "up", "--fault", "bogus=mail")
    assert fault.returncode == 2 and "unknown fault 'bogus'" in fault.stderr
    assert "internal error" not in status.stderr + fault.stderr
