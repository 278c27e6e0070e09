"""Warnings of `drill validate/plan/run`, and `--strict` turning them into errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bcdrill.cli.main import main

SCENARIO = """\
version: 1
name: w
title: warnings
environment: lab
systems:
  db: {title: DB, rto: 1h, rpo: 30m}
steps:
  - {id: up, run: "echo {{ site }}", recovers: [db]}
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "w.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_an_rpo_target_that_no_step_measures_is_a_warning(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(scenario), "--var", "site=dr"]) == 0
    err = capsys.readouterr().err
    assert (
        f"drill: warning: {scenario}:6:28: system 'db' has an rpo target but no step measures it, so its RPO "
        "will be reported UNMEASURED — add rpo_of: [db]" in err
    )


def test_strict_makes_warnings_errors(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--strict", str(scenario), "--var", "site=dr"]) == 2
    assert main(["plan", "--strict", str(scenario), "--var", "site=dr"]) == 2
    assert "--strict: 1 warning(s)" in capsys.readouterr().err
    measured = scenario.read_text().replace("recovers: [db]}", "recovers: [db], rpo_of: [db]}")
    scenario.write_text(measured)
    assert main(["validate", "--strict", str(scenario), "--var", "site=dr"]) == 0


def test_an_unused_var_is_a_warning_in_plan(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(scenario), "--var", "site=dr", "--var", "sit=x"]) == 0
    assert "--var sit=… is not used by this scenario — did you mean --var site=…?" in capsys.readouterr().err
