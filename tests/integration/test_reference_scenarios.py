"""The reference drills as a user first meets them: each scenario under scenarios/reference/ validates
with exactly the variables its header comment gives (and `--strict`: every one of them is used), and is
refused without them, naming the variable, before anything runs; every reference playbook passes
ansible-playbook's syntax check."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios" / "reference").glob("*.yaml"))
ENV = "BCDRILL_VAR_"
PLAYBOOKS = sorted((ROOT / "playbooks" / "reference").glob("*.yml"))


def header_vars(path: Path) -> list[str]:
    """The variables the `drill run` example in the scenario's header comment gives, as NAME=VALUE:
    its `--var`s and its `BCDRILL_VAR_NAME=VALUE` environment."""
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("#   "):  # the example's lines are indented in the comment
            header.append(line.lstrip("#").strip().removesuffix("\\"))
    words = shlex.split(" ".join(header))
    given = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--var"]
    return given + [word.removeprefix(ENV) for word in words if word.startswith(ENV)]


def validate(path: Path, variables: list[str]) -> subprocess.CompletedProcess[str]:
    argv = [arg for assignment in variables for arg in ("--var", assignment)]
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", "validate", "--strict", *argv, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_reference_drill_is_here() -> None:
    assert [p.name for p in SCENARIOS] == [
        "mariadb-failover.yaml",
        "nginx-switch.yaml",
        "postgres-failover.yaml",
    ]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_the_header_example_validates_and_nothing_runs_without_its_vars(path: Path) -> None:
    variables = header_vars(path)
    assert variables, f"{path.name}: its header shows no --var"
    result = validate(path, variables)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"ok: {path}"

    name = variables[0].split("=", 1)[0]
    refused = validate(path, variables[1:])
    assert refused.returncode == 2, refused.stdout + refused.stderr
    pattern = rf"^{re.escape(str(path))}:\d+:\d+: undefined variable '{name}'"
    assert re.search(pattern, refused.stderr, re.MULTILINE), refused.stderr


def test_the_reference_playbooks_pass_the_syntax_check() -> None:
    assert len(PLAYBOOKS) >= 9
    ansible = Path(sys.executable).parent / "ansible-playbook"
    result = subprocess.run(
        [str(ansible), "--syntax-check", "-i", "localhost,", *map(str, PLAYBOOKS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT / "playbooks",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("playbook: ") == len(PLAYBOOKS), result.stdout
