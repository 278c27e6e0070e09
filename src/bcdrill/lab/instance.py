"""One instance of one system at one site (run as `python -m bcdrill.lab.admin LAB_DIR SYSTEM SITE`).

It serves the system's protocol on its service port, an admin HTTP API on its admin port (used by
`lab ctl`, the playbooks and `lab status`) and, while it is the primary, a replication feed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

from bcdrill.lab.config import Layout, Site
from bcdrill.lab.replication import FollowerState
from bcdrill.lab.store import Store


class Instance:
    def __init__(self, layout: Layout, system: str, site: Site) -> None:
        self.layout = layout
        self.cfg = layout.system(system)
        self.site: Site = site
        self.peer: Site = "dr" if site == "prod" else "prod"
        self.kind = self.cfg.kind
        self.role = "primary" if site == "prod" else "standby"
        self.lag = self.cfg.lag
        self.outage = False  # the site is down (simulated disaster): nothing is served or shipped
        self.link_up = True  # the production <-> DR replication link
        self.replication = True  # a standby applies what it receives
        self.frozen = False  # a primary refusing writes (planned switchback) and shipping without lag
        self.promoting = False
        self.started = time.time()
        data_dir = Path(layout.lab_dir) / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / f"{system}-{site}.jsonl", site)
        self.follower = FollowerState()

    # --- what the services and replication ask -------------------------------------------------
    def refusal(self, write: bool) -> str | None:
        if self.outage:
            return f"{self.site} site outage (simulated disaster)"
        if write and self.role != "primary":
            return "read-only standby" + (" (promotion in progress)" if self.promoting else "")
        if write and self.frozen:
            return "read-only: frozen for switchback"
        return None

    def health(self) -> dict[str, object]:
        if self.outage:
            status = f"DOWN outage@{self.site}"
        elif self.role == "primary":
            status = f"OK primary@{self.site}" + (" frozen" if self.frozen else "")
        else:
            status = f"STANDBY read-only@{self.site}"
        return {
            "system": self.cfg.id,
            "site": self.site,
            "role": self.role,
            "writable": self.refusal(True) is None,
            "status": status,
        }

    def may_ship(self) -> bool:
        return self.role == "primary" and self.link_up and not self.outage

    def ship_cutoff(self) -> float:
        return float("inf") if self.frozen else time.time() - self.lag

    def may_follow(self) -> bool:
        return self.role == "standby" and self.link_up and self.replication and not self.outage

    def leader_address(self) -> tuple[str, int]:
        return self.layout.addr(self.peer), self.cfg.port(self.peer, "repl")

    def log(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        print(f"{stamp}Z {self.cfg.id}@{self.site} {message}", flush=True)

    # --- state ---------------------------------------------------------------------------------
    def status(self) -> dict[str, object]:
        newest_repl = self.store.newest(self.peer)
        f = self.follower
        fresh = f.connected and f.last_heard is not None and time.time() - f.last_heard < 3
        lag = f.behind if self.role == "standby" and fresh else None
        return {
            **self.health(),
            "outage": self.outage,
            "link_up": self.link_up,
            "replication": self.replication,
            "frozen": self.frozen,
            "promoting": self.promoting,
            "configured_lag": self.lag,
            "records": len(self.store.records),
            "newest": self.store.newest(),
            "newest_replicated": newest_repl,
            "digest": self.store.digest(),
            "follower": {
                "connected": f.connected,
                "lag": lag,
                "pending": f.pending,
                "overdue": f.overdue,
                "applied": f.applied,
                "leader_count": f.leader_count,
                "last_heard": f.last_heard,
            },
        }

    async def promote(self) -> None:
        if self.role == "primary" or self.promoting:
            return
        self.promoting = True
        self.replication = False  # stop applying at once; what was not shipped is lost
        self.log(f"promotion started (takes {self.cfg.slow_promote:.0f}s extra)")
        await asyncio.sleep(self.cfg.slow_promote)
        self.role, self.promoting, self.frozen, self.outage = "primary", False, False, False
        self.log("promoted: primary, writable")

    def demote(self) -> None:
        """Become a standby of the other site (re-sync: it ships whatever this instance lacks)."""
        self.role, self.frozen, self.outage, self.replication, self.link_up = (
            "standby",
            False,
            False,
            True,
            True,
        )
        self.log(f"demoted: standby following {self.peer}")

    def seed(self) -> None:
        """The existing book of business: one record every 5 minutes over the last `seed_hours`."""
        if self.role != "primary" or self.store.records or self.layout.seed_hours <= 0:
            return
        now = time.time()
        for i in range(int(self.layout.seed_hours * 12), 0, -1):
            body = (
                base64.b64encode(bytes(64)).decode()
                if self.cfg.protocol == "object"
                else json.dumps({"seed": i, "system": self.cfg.id})
            )
            self.store.create(self.kind, None, body, ts=now - i * 300)
