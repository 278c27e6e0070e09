"""`drill lab ctl ...`: the operations the playbooks (and people) perform on a running lab."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bcdrill.lab.clients import write
from bcdrill.lab.config import SITES, LabError, Layout, Site, default_lab_dir, load_layout
from bcdrill.lab.httpd import call
from bcdrill.lab.proxy import write_route

POINTER = Path.home() / ".cache" / "bcdrill" / "current-lab"


def find_lab_dir(explicit: str | None, default: Path | None = None) -> Path:
    """--lab-dir, else `default` / $BCDRILL_LAB_DIR / ./.lab when it holds a lab, else the lab most
    recently started by this user (so playbooks run from another directory still find it)."""
    if explicit:
        return Path(explicit)
    candidate = default or default_lab_dir()
    if (candidate / "lab.json").exists():
        return candidate
    try:
        pointed = Path(POINTER.read_text(encoding="utf-8").strip())
    except OSError:
        return candidate
    return pointed if (pointed / "lab.json").exists() else candidate


class Lab:
    """A running lab, addressed through its layout."""

    def __init__(self, lab_dir: Path) -> None:
        self.lab_dir = lab_dir.resolve()
        self.layout: Layout = load_layout(self.lab_dir)

    def systems(self, names: str) -> list[str]:
        """`all`, one system id, or a comma-separated list of them."""
        if names == "all":
            return list(self.layout.systems)
        return [self.layout.system(n.strip()).id for n in names.split(",") if n.strip()]

    def admin(
        self, system: str, site: str, method: str, path: str, data: Any = None, timeout: float = 3.0
    ) -> dict[str, Any]:
        cfg = self.layout.system(system)
        url = f"http://{self.layout.addresses[site]}:{cfg.ports[f'{site}_admin']}{path}"
        try:
            code, body = call(method, url, data, timeout=timeout)
        except OSError as exc:
            raise LabError(f"{system}@{site} is not reachable ({_reason(exc)})") from None
        if code >= 300 or not isinstance(body, dict):
            raise LabError(f"{system}@{site}: {method} {path} answered {code}: {body}")
        return body

    def status(self, system: str, site: str) -> dict[str, Any]:
        return self.admin(system, site, "GET", "/status")

    def set_flag(self, system: str, site: str, flag: str, on: bool) -> dict[str, Any]:
        return self.admin(system, site, "POST", f"/{flag}", {"on": on})

    def promote(self, system: str, site: Site, timeout: float) -> dict[str, Any]:
        self.admin(system, site, "POST", "/promote")
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(system, site)
            if st["role"] == "primary" and st["writable"]:
                return st
            if time.monotonic() > deadline:
                raise LabError(f"{system}@{site} not promoted after {timeout:.0f}s (state: {st['status']})")
            time.sleep(0.2)

    def switch(self, system: str, site: Site, force: bool = False) -> None:
        """Route the system's users to `site`; refused when nothing writable serves there (unless forced)."""
        if not force:
            try:
                st = self.status(system, site)
            except LabError as exc:
                raise LabError(f"refusing to route users to {site}: {exc}") from None
            if st["role"] != "primary" or st["outage"]:
                raise LabError(f"refusing to route users to {system}@{site}: it is {st['status']}")
        write_route(self.lab_dir, system, site)

    def switchback(self, system: str, timeout: float, say: Callable[[str], None]) -> None:
        """Planned return to production, data re-synced both ways (or resume it if DR never took over)."""
        if self._role(system, "dr") != "primary":
            self.set_flag(system, "prod", "outage", False)
            self.set_flag(system, "prod", "link", True)
            say("DR never took over: production resumes service")
            self.switch(system, "prod")
            say("traffic -> prod")
            try:
                for flag in ("link", "replication"):
                    self.set_flag(system, "dr", flag, True)
            except LabError as exc:
                say(f"DR standby not restored: {exc}")
                return
            st = self.wait_sync(system, "dr", False, timeout)  # the backlog since replication stopped
            say(f"DR standby replicates again and caught up ({st['records']} records)")
            return
        self.set_flag(system, "prod", "link", True)
        self.admin(system, "prod", "POST", "/demote")
        self.set_flag(system, "dr", "link", True)
        self.set_flag(system, "dr", "freeze", True)
        say("production is a standby of DR; DR frozen (read-only) for the switchback window")
        st = self.wait_sync(system, "prod", True, timeout)
        say(f"production holds every DR record ({st['records']} records)")
        self.promote(system, "prod", timeout)
        self.switch(system, "prod")
        say("production promoted; traffic -> prod")
        self.admin(system, "dr", "POST", "/demote")
        st = self.wait_sync(system, "dr", False, timeout)
        say(f"DR is production's standby again ({st['records']} records)")

    def _role(self, system: str, site: Site) -> str:
        try:
            return str(self.status(system, site)["role"])
        except LabError:
            return "down"

    def newest(self, system: str, site: str, origin: str | None) -> float | None:
        query = f"?origin={origin}" if origin else ""
        value = self.admin(system, site, "GET", f"/newest{query}")["newest"]
        return None if value is None else float(value)

    def wait_sync(self, system: str, follower: Site, full: bool, timeout: float) -> dict[str, Any]:
        """Until the follower is connected and has every record the leader should have shipped."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(system, follower)
            f = st["follower"]
            counter = f["pending"] if full else f["overdue"]
            if st["role"] == "standby" and f["connected"] and counter == 0:
                return st
            if time.monotonic() > deadline:
                raise LabError(f"{system}@{follower} not in sync after {timeout:.0f}s: {f}")
            time.sleep(0.2)

    def compare(self, system: str) -> dict[str, Any]:
        """Records of the primary's site missing at the other site (beyond the lag), and the reverse."""
        leader: Site = "prod" if self.status(system, "prod")["role"] == "primary" else "dr"
        other: Site = "dr" if leader == "prod" else "prod"
        ids = {site: dict(self.admin(system, site, "GET", "/ids")["ids"]) for site in SITES}
        horizon = time.time() - self.layout.system(system).lag - 2.0
        missing = [i for i, ts in ids[leader].items() if i not in ids[other] and ts < horizon]
        extra = [i for i in ids[other] if i not in ids[leader]]
        return {
            "system": system,
            "primary": leader,
            "records": {s: len(v) for s, v in ids.items()},
            "missing_at_standby": len(missing),
            "extra_at_standby": len(extra),
            "consistent": not missing and not extra,
        }

    def write(self, system: str, site: str) -> str:
        cfg = self.layout.system(system)
        if site == "entry":
            return write(cfg, self.layout.addresses["entry"], cfg.ports["entry"])
        return write(cfg, self.layout.addresses[site], cfg.ports[f"{site}_svc"])


def _reason(exc: OSError) -> str:
    inner = getattr(exc, "reason", None)
    return str(inner or exc.strerror or exc)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
