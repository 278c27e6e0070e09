"""The built-in two-site lab on loopback (DESIGN §8): `drill lab up|down|status` and `drill lab ctl`.

Public API (used by the CLI and `drill demo`):
    lab_up(lab_dir, faults) -> LabStatus     start; faults like "standby-down=mail",
                                             "repl-lag=core-individual:45m", "slow-promote=e-sales:20s"
    lab_down(lab_dir) -> None                stop every lab process; idempotent
    lab_status(lab_dir) -> LabStatus         what runs, roles, replication lag
    render_status(status) -> str             the status table
    lab_ctl(argv) -> int                     `drill lab ctl ...` (promote, isolate, switch, newest, ...)
    default_lab_dir() -> Path                $BCDRILL_LAB_DIR or ./.lab
    LabError                                 a one-line user-facing problem

Layer rule: the lab is a world of its own (processes that stand in for real systems); it must not import
run/, executors/, record/, verdicts/, render/, listeners/ or cli/.
"""

from __future__ import annotations

from bcdrill.lab.config import SYSTEM_IDS, LabError, default_lab_dir, parse_faults
from bcdrill.lab.ctl import lab_ctl
from bcdrill.lab.state import InstanceStatus, LabStatus, render_status
from bcdrill.lab.supervisor import lab_down, lab_status, lab_up

__all__ = [
    "SYSTEM_IDS",
    "InstanceStatus",
    "LabError",
    "LabStatus",
    "default_lab_dir",
    "lab_ctl",
    "lab_down",
    "lab_status",
    "lab_up",
    "parse_faults",
    "render_status",
]
