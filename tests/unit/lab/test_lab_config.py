"""The lab's layout and fault switches (pure: no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bcdrill.lab import SYSTEM_IDS, LabError, lab_status, parse_faults, render_status
from bcdrill.lab.config import PORT_BLOCK, build_layout, load_layout, save_layout


def test_the_lab_runs_the_seven_systems_of_the_reference_drill() -> None:
    assert SYSTEM_IDS == ("core-individual", "core-group", "e-sales", "mcde", "mail", "cm-imaging", "website")


def test_faults_parse_to_per_system_settings() -> None:
    faults = parse_faults(["standby-down=mail", "repl-lag=core-individual:45m", "slow-promote=e-sales:20s"])
    assert faults.standby_down == ("mail",)
    assert faults.repl_lag == {"core-individual": 2700.0}
    assert faults.slow_promote == {"e-sales": 20.0}


def test_all_applies_a_fault_to_every_system() -> None:
    assert set(parse_faults(["repl-lag=all:1m"]).repl_lag) == set(SYSTEM_IDS)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("standby-down", "expected NAME=SYSTEM"),
        ("meltdown=mail", "unknown fault 'meltdown'"),
        ("standby-down=payroll", "unknown system 'payroll'"),
        ("repl-lag=mail:soon", "expected a duration"),
    ],
)
def test_bad_faults_are_reported_in_one_line(spec: str, message: str) -> None:
    with pytest.raises(LabError, match=message):
        parse_faults([spec])


def test_layout_gives_every_system_its_own_ports_and_applies_faults(tmp_path: Path) -> None:
    layout = build_layout(tmp_path, ["repl-lag=mail:90s", "standby-down=website"], port_base=30000)
    ports = [p for s in layout.systems.values() for p in s.ports.values()]
    assert len(ports) == len(set(ports)) == 7 * len(SYSTEM_IDS)
    assert max(ports) < 30000 + PORT_BLOCK * len(SYSTEM_IDS)
    assert layout.system("mail").lag == 90.0
    assert layout.system("core-individual").lag == 2.0
    assert layout.system("website").standby_down
    assert layout.addr("prod") != layout.addr("dr")


def test_layout_round_trips_through_lab_json(tmp_path: Path) -> None:
    layout = build_layout(tmp_path, ["slow-promote=e-sales:5s"], port_base=31000)
    save_layout(layout)
    assert load_layout(tmp_path) == layout


def test_port_base_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCDRILL_LAB_PORT_BASE", "32000")
    assert build_layout(tmp_path).system("core-individual").ports["prod_svc"] == 32000
    monkeypatch.setenv("BCDRILL_LAB_PORT_BASE", "http")
    with pytest.raises(LabError, match="BCDRILL_LAB_PORT_BASE"):
        build_layout(tmp_path)


def test_status_of_a_directory_without_a_lab_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no lab in"):
        lab_status(tmp_path)


def test_render_status_of_no_lab(tmp_path: Path) -> None:
    from bcdrill.lab.state import collect_status

    assert "no lab in" in render_status(collect_status(tmp_path))
