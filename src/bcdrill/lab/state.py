"""What is running in a lab directory: processes, roles, replication lag, traffic routes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bcdrill.lab.config import SITES, LabError, Layout, load_layout
from bcdrill.lab.httpd import call
from bcdrill.lab.proxy import read_route


@dataclass(frozen=True)
class InstanceStatus:
    system: str
    site: str
    pid: int | None
    running: bool  # the process exists
    answering: bool  # its admin API answered
    role: str | None = None
    state: str = "down"
    records: int | None = None
    newest: float | None = None
    lag: float | None = None  # replication lag observed at a standby, seconds
    configured_lag: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LabStatus:
    lab_dir: Path
    layout: Layout | None
    instances: tuple[InstanceStatus, ...] = ()
    processes: dict[str, bool] = field(default_factory=dict)  # gateway/workload -> running
    routes: Mapping[str, str] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)

    @property
    def up(self) -> bool:
        return any(self.processes.values()) or any(i.running for i in self.instances)


def pid_files(lab_dir: Path) -> list[tuple[Path, int]]:
    found = []
    for path in sorted((lab_dir / "run").glob("*.pid")):
        try:
            found.append((path, int(path.read_text(encoding="utf-8").strip())))
        except (OSError, ValueError):
            continue
    return found


def is_ours(pid: int, lab_dir: Path) -> bool:
    """True when `pid` is a live lab process of this lab directory (guards against reused pids)."""
    if Path("/proc/self").exists():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"bcdrill.lab." in cmdline and str(lab_dir).encode() in cmdline
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _instance(layout: Layout, lab_dir: Path, system: str, site: str, pids: dict[str, int]) -> InstanceStatus:
    cfg = layout.system(system)
    pid = pids.get(f"{system}-{site}")
    running = pid is not None and is_ours(pid, lab_dir)
    url = f"http://{layout.addresses[site]}:{cfg.ports[f'{site}_admin']}/status"
    try:
        code, body = call("GET", url, timeout=1.0)
    except OSError:
        code, body = 0, None
    if code != 200 or not isinstance(body, dict):
        state = "down (fault: standby-down)" if site == "dr" and cfg.standby_down else "down"
        return InstanceStatus(system, site, pid, running, False, state=state, configured_lag=cfg.lag)
    return InstanceStatus(
        system,
        site,
        pid,
        running,
        True,
        body["role"],
        str(body["status"]),
        body["records"],
        body["newest"],
        body["follower"]["lag"],
        body["configured_lag"],
        body,
    )


def collect_status(lab_dir: Path) -> LabStatus:
    try:
        layout = load_layout(lab_dir)
    except LabError:
        return LabStatus(lab_dir, None)
    pids = {path.stem: pid for path, pid in pid_files(lab_dir)}
    keys = [(s, site) for s in layout.systems for site in SITES]
    with ThreadPoolExecutor(max_workers=7) as pool:
        instances = tuple(pool.map(lambda k: _instance(layout, lab_dir, k[0], k[1], pids), keys))
    processes = {name: name in pids and is_ours(pids[name], lab_dir) for name in ("gateway", "workload")}
    routes = {s: read_route(lab_dir, s) for s in layout.systems}
    try:
        workload = json.loads((lab_dir / "workload.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        workload = {}
    return LabStatus(lab_dir, layout, instances, processes, routes, workload)


def _clock(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M:%S.%f")[:-4] + "Z"


def _lag(inst: InstanceStatus) -> str:
    if inst.role != "standby":
        return "-"
    seen = "?" if inst.lag is None else f"{inst.lag:.1f}s"
    return f"{seen} (cfg {inst.configured_lag:g}s)"


def render_status(status: LabStatus) -> str:
    """The `drill lab status` table."""
    layout = status.layout
    if layout is None:
        return f"no lab in {status.lab_dir} (start one with `drill lab up`)"
    head = (
        f"lab {status.lab_dir}: {'UP' if status.up else 'DOWN'} · production {layout.addresses['prod']} · "
        f"DR {layout.addresses['dr']} · entry {layout.addresses['entry']} · port base {layout.port_base}"
        f" · faults: {', '.join(layout.faults) or 'none'}"
    )
    rows = [("SYSTEM", "ENTRY→", "SITE", "PID", "ROLE", "STATE", "RECORDS", "NEWEST", "REPL LAG")]
    for inst in status.instances:
        entry = f"{layout.system(inst.system).ports['entry']}→{status.routes.get(inst.system, '?')}"
        rows.append(
            (
                inst.system if inst.site == "prod" else "",
                entry if inst.site == "prod" else "",
                inst.site,
                str(inst.pid or "-") if inst.running else "-",
                inst.role or "-",
                inst.state,
                "-" if inst.records is None else str(inst.records),
                _clock(inst.newest),
                _lag(inst),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [head, *("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)]
    procs = " · ".join(f"{n} {'running' if ok else 'stopped'}" for n, ok in status.processes.items())
    counts = status.workload.get("systems", {})
    writes = ", ".join(f"{s} {c['ok']}✓/{c['failed']}✗" for s, c in counts.items())
    lines.append(f"{procs}" + (f" · writes {writes}" if writes else ""))
    return "\n".join(lines)
