"""Checks for the built-in lab (`drill lab up`); thin wrappers over `bcdrill.lab.verify`.

check: {python: "../checks/lab_checks.py:service_at", args: {system: mail, site: dr}}
The lab is found through $BCDRILL_LAB_DIR, ./.lab, or the lab most recently started (or `lab_dir:`).
"""

from __future__ import annotations

from typing import Any

from bcdrill.lab import verify


def lab_ready(lab_dir: str | None = None, max_lag: float = 60.0) -> dict[str, Any]:
    """Every instance answers in its normal role; every standby replicates within `max_lag` seconds."""
    return verify.lab_ready(lab_dir, max_lag)


def service_at(system: str, site: str = "dr", lab_dir: str | None = None) -> dict[str, Any]:
    """A business write through the entry point is committed at `site` (the service is restored there)."""
    return verify.service_at(system, site, lab_dir)


def newest_at(
    system: str, site: str = "dr", origin: str = "prod", lab_dir: str | None = None
) -> dict[str, Any]:
    """Newest record at `site` written at `origin`, as `data_timestamp` (the RPO measurement)."""
    return verify.newest_at(system, site, origin, lab_dir)


def sites_consistent(system: str, lab_dir: str | None = None) -> dict[str, Any]:
    """Production and DR hold the same records (after switchback and re-sync)."""
    return verify.sites_consistent(system, lab_dir)


def txn_ping(host: str, port: int | str, site: str = "dr", timeout: float = 5.0) -> dict[str, Any]:
    """The MCDE transaction API answers a `ping` as a writable primary at `site`."""
    return verify.txn_ping(host, int(port), site, timeout)
