"""Start, stop and inspect the lab's processes: pid files and logs under the lab directory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import bcdrill
from bcdrill.lab.config import SITES, LabError, Layout, build_layout, load_layout, save_layout
from bcdrill.lab.httpd import call
from bcdrill.lab.proxy import write_route
from bcdrill.lab.state import LabStatus, collect_status, is_ours, pid_files

READY_TIMEOUT = 30.0
POINTER = Path.home() / ".cache" / "bcdrill" / "current-lab"


def _commands(layout: Layout) -> dict[str, list[str]]:
    lab = layout.lab_dir
    cmds = {
        f"{s}-{site}": ["-m", "bcdrill.lab.admin", lab, s, site] for s in layout.systems for site in SITES
    }
    cmds["gateway"] = ["-m", "bcdrill.lab.proxy", lab]
    cmds["workload"] = ["-m", "bcdrill.lab.workload", lab]
    return cmds


def _spawn(lab_dir: Path, name: str, args: list[str]) -> int:
    env = dict(os.environ)
    src = str(Path(bcdrill.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    with (lab_dir / "logs" / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=lab_dir,
        )
    (lab_dir / "run" / f"{name}.pid").write_text(f"{proc.pid}\n", encoding="utf-8")
    return proc.pid


def _check_ports(layout: Layout) -> None:
    busy = []
    for cfg in layout.systems.values():
        wanted = [(layout.addr(site), cfg.port(site, r)) for site in SITES for r in ("svc", "admin", "repl")]
        wanted.append((layout.addresses["entry"], cfg.ports["entry"]))
        for addr, port in wanted:
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((addr, port))
                except OSError as exc:
                    busy.append(f"{addr}:{port} ({exc.strerror})")
    if busy:
        raise LabError(f"lab ports in use: {', '.join(busy[:5])}; set BCDRILL_LAB_PORT_BASE to move the lab")


def _reset_dir(lab_dir: Path) -> None:
    for sub in ("data", "dns", "run", "logs"):
        shutil.rmtree(lab_dir / sub, ignore_errors=True)
        (lab_dir / sub).mkdir(parents=True)
    (lab_dir / "workload.json").unlink(missing_ok=True)


def lab_up(lab_dir: Path, faults: Sequence[str] = ()) -> LabStatus:
    """Start the two-site lab; returns once every instance answers and every standby is replicating."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    lab_dir = lab_dir.resolve()
    if any(is_ours(pid, lab_dir) for _, pid in pid_files(lab_dir)):
        raise LabError(f"a lab is already running in {lab_dir}; run `drill lab down` first")
    layout = build_layout(lab_dir, faults)
    _check_ports(layout)
    _reset_dir(lab_dir)
    save_layout(layout)
    for system in layout.systems:
        write_route(lab_dir, system, "prod")
    started = time.time()
    for name, args in _commands(layout).items():
        _spawn(lab_dir, name, args)
    try:
        _wait_ready(layout, started)
    except LabError:
        lab_down(lab_dir)
        raise
    with contextlib.suppress(OSError):
        POINTER.parent.mkdir(parents=True, exist_ok=True)
        POINTER.write_text(str(lab_dir) + "\n", encoding="utf-8")
    return collect_status(lab_dir)


def _admin(layout: Layout, system: str, site: str) -> str:
    cfg = layout.system(system)
    return f"http://{layout.addresses[site]}:{cfg.ports[f'{site}_admin']}"


def _ready(layout: Layout, system: str, site: str, since: float) -> bool:
    """Answering; a standby must also be replicating live data (a record written after `since`)."""
    try:
        code, body = call("GET", _admin(layout, system, site) + "/status", timeout=1.0)
    except OSError:
        return False
    if code != 200 or not isinstance(body, dict):
        return False
    follower = body["follower"]
    slow = layout.system(system).lag > READY_TIMEOUT / 3  # a repl-lag fault: live data comes much later
    live = slow or (body["newest"] is not None and body["newest"] >= since)
    return site == "prod" or (follower["connected"] and follower["overdue"] == 0 and live)


def _wait_ready(layout: Layout, since: float) -> None:
    waiting = {
        (s, site)
        for s, cfg in layout.systems.items()
        for site in SITES
        if not (site == "dr" and cfg.standby_down)
    }
    deadline = time.monotonic() + READY_TIMEOUT
    while waiting and time.monotonic() < deadline:
        waiting = {(s, site) for s, site in waiting if not _ready(layout, s, site, since)}
        if waiting:
            time.sleep(0.2)
    if waiting:
        names = ", ".join(sorted(f"{s}@{site}" for s, site in waiting))
        raise LabError(
            f"lab did not become ready in {READY_TIMEOUT:.0f}s: {names} "
            f"(see the logs in {layout.lab_dir}/logs)"
        )


def lab_down(lab_dir: Path) -> None:
    """Stop every lab process (SIGTERM to its group, then SIGKILL); idempotent."""
    lab_dir = lab_dir.resolve()
    procs = [(path, pid) for path, pid in pid_files(lab_dir)]
    for _, pid in procs:
        if is_ours(pid, lab_dir):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(_alive(pid, lab_dir) for _, pid in procs):
        time.sleep(0.1)
    for _, pid in procs:
        if _alive(pid, lab_dir):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    for path, pid in procs:
        _reap(pid)
        path.unlink(missing_ok=True)


def _alive(pid: int, lab_dir: Path) -> bool:
    _reap(pid)
    return is_ours(pid, lab_dir)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our own child (no zombie left behind)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def lab_status(lab_dir: Path) -> LabStatus:
    lab_dir = lab_dir.resolve()
    load_layout(lab_dir)  # a clear error when there is no lab here
    return collect_status(lab_dir)
