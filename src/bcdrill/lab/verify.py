"""Checks against a running lab, in the result shape of `check: {python: ...}` steps.

Each returns {"ok", "detail", "observed"} (and "data_timestamp" for RPO). They never raise for a lab
that is down or misbehaving: that is a failed check, with the reason in `detail`.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from bcdrill.lab.clients import WriteRefused
from bcdrill.lab.config import SITES, LabError
from bcdrill.lab.control import Lab, find_lab_dir, iso

Result = dict[str, Any]


def _lab(lab_dir: str | None) -> Lab:
    return Lab(find_lab_dir(lab_dir))


def lab_ready(lab_dir: str | None = None, max_lag: float = 60.0) -> Result:
    """Every instance answers, production is primary, every standby replicates within `max_lag`."""
    try:
        lab = _lab(lab_dir)
    except LabError as exc:
        return {"ok": False, "detail": str(exc)}
    problems, observed = [], {}
    for system in lab.layout.systems:
        for site in SITES:
            try:
                st = lab.status(system, site)
            except LabError as exc:
                problems.append(str(exc))
                continue
            lag = st["follower"]["lag"]
            observed[f"{system}@{site}"] = {"role": st["role"], "records": st["records"], "lag": lag}
            expected = "primary" if site == "prod" else "standby"
            if st["role"] != expected or st["outage"]:
                problems.append(f"{system}@{site} is {st['status']}, expected {expected}")
            elif site == "dr" and (lag is None or lag > max_lag):
                shown = "unknown" if lag is None else f"{lag:.1f}s"
                problems.append(f"{system}@dr replication lag {shown} (limit {max_lag:g}s)")
    detail = "; ".join(problems) or f"all {len(observed)} instances ready, replication within {max_lag:g}s"
    return {"ok": not problems, "detail": detail, "observed": observed}


def service_at(system: str, site: str = "dr", lab_dir: str | None = None) -> Result:
    """A business write through the system's entry point lands at `site`, which serves it as primary."""
    started = time.monotonic()
    try:
        lab = _lab(lab_dir)
        key = lab.write(system, "entry")
        rec = lab.admin(system, site, "GET", f"/records/{key}")
        health = lab.status(system, site)
    except (LabError, WriteRefused, OSError) as exc:
        return {"ok": False, "detail": f"{system}: business write through the entry point failed: {exc}"}
    seconds = round(time.monotonic() - started, 3)
    observed = {"key": key, "record": rec["id"], "site": site, "status": health["status"], "seconds": seconds}
    ok = health["role"] == "primary" and rec.get("origin") == site
    detail = f"{system}: {rec['kind']} {key} written through the entry point and committed at {site}"
    return {
        "ok": ok,
        "detail": detail if ok else f"{system}: unexpected state {observed}",
        "observed": observed,
    }


def newest_at(system: str, site: str = "dr", origin: str = "prod", lab_dir: str | None = None) -> Result:
    """The newest record at `site` that was written at `origin`: the recovery point, for RPO."""
    try:
        ts = _lab(lab_dir).newest(system, site, origin)
    except LabError as exc:
        return {"ok": False, "detail": str(exc)}
    if ts is None:
        return {"ok": False, "detail": f"{system}@{site} holds no record written at {origin}"}
    detail = f"{system}@{site}: newest record written at {origin} was committed {iso(ts)}"
    return {"ok": True, "detail": detail, "data_timestamp": iso(ts), "observed": {"newest": iso(ts)}}


def sites_consistent(system: str, lab_dir: str | None = None) -> Result:
    """Both sites hold the same records (up to the replication lag)."""
    try:
        result = _lab(lab_dir).compare(system)
    except LabError as exc:
        return {"ok": False, "detail": str(exc)}
    detail = (
        f"{system}: primary {result['primary']}, records {result['records']}, "
        f"missing at standby {result['missing_at_standby']}, extra {result['extra_at_standby']}"
    )
    return {"ok": bool(result["consistent"]), "detail": detail, "observed": result}


def txn_ping(host: str, port: int, site: str = "dr", timeout: float = 5.0) -> Result:
    """The transaction API (JSON lines) answers `{"op": "ping"}` as a writable primary at `site`."""
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 5.0)) as sock:
            sock.sendall(b'{"op": "ping"}\n')
            line = sock.makefile("rb").readline()
        answer = json.loads(line) if line else {}
    except (OSError, ValueError) as exc:
        return {"ok": False, "detail": f"{host}:{port}: {exc}"}
    ok = bool(answer.get("ok")) and answer.get("site") == site and answer.get("role") == "primary"
    detail = f"{host}:{port}: {answer.get('status') or answer.get('error') or 'no answer'}"
    return {"ok": ok, "detail": detail, "observed": answer}
