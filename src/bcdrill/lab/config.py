"""The lab's layout: systems, sites, ports and faults, saved as `lab.json` in the lab directory.

Everything else in the lab (instances, the gateway, the workload, `lab ctl`) reads the layout
from `lab.json`, so the lab directory is the only thing the processes share.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bcdrill.common.duration import parse_duration
from bcdrill.common.errors import UsageError

Site = Literal["prod", "dr"]
SITES: tuple[Site, Site] = ("prod", "dr")
SITE_TITLES = {"prod": "生产中心 production", "dr": "灾备中心 DR"}
Protocol = Literal["http", "smtp", "object", "txn"]

DEFAULT_PORT_BASE = 17000
PORT_BLOCK = 10  # ports per system: prod svc/admin/repl = +0..2, dr = +3..5, entry = +6
LAYOUT_FILE = "lab.json"


class LabError(UsageError):
    """A lab problem worth a one-line message (not a bug): exit 2 through the CLI."""


@dataclass(frozen=True)
class SystemSpec:
    """One system of the reference drill as the lab runs it."""

    id: str
    title: str
    protocol: Protocol
    kind: str  # the business record it stores
    tier: int
    lag: float  # default replication lag, seconds


SYSTEMS: tuple[SystemSpec, ...] = (
    SystemSpec("core-individual", "个险核心系统 individual core", "http", "policy", 1, 2.0),
    SystemSpec("core-group", "团险核心系统 group core", "http", "group-policy", 1, 2.0),
    SystemSpec("e-sales", "E-销系统 e-sales", "http", "order", 2, 3.0),
    SystemSpec("mcde", "MCDE中间交易平台 middleware", "txn", "transaction", 1, 2.0),
    SystemSpec("mail", "邮件服务器 mail", "smtp", "mail", 3, 5.0),
    SystemSpec("cm-imaging", "CM影像服务器 imaging", "object", "image", 2, 5.0),
    SystemSpec("website", "公司官网 website", "http", "article", 3, 5.0),
)
SYSTEM_IDS = tuple(s.id for s in SYSTEMS)


@dataclass(frozen=True)
class Faults:
    """Failure switches that make a drill go wrong on purpose."""

    standby_down: tuple[str, ...] = ()
    repl_lag: Mapping[str, float] = field(default_factory=dict)
    slow_promote: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SystemLayout:
    id: str
    title: str
    protocol: Protocol
    kind: str
    tier: int
    lag: float
    slow_promote: float
    standby_down: bool
    ports: Mapping[str, int]  # prod_svc, prod_admin, prod_repl, dr_svc, dr_admin, dr_repl, entry

    def port(self, site: Site, role: Literal["svc", "admin", "repl"]) -> int:
        return self.ports[f"{site}_{role}"]


@dataclass(frozen=True)
class Layout:
    lab_dir: str
    addresses: Mapping[str, str]  # prod, dr, entry
    port_base: int
    write_interval: float
    seed_hours: float
    faults: tuple[str, ...]
    systems: Mapping[str, SystemLayout]

    def system(self, system_id: str) -> SystemLayout:
        try:
            return self.systems[system_id]
        except KeyError:
            raise LabError(f"unknown system {system_id!r}; the lab has: {', '.join(self.systems)}") from None

    def addr(self, site: Site) -> str:
        return self.addresses[site]


def parse_faults(specs: Sequence[str]) -> Faults:
    """Parse `standby-down=mail`, `repl-lag=core-individual:300s`, `slow-promote=e-sales:60s` (or `all`)."""
    down: list[str] = []
    lag: dict[str, float] = {}
    slow: dict[str, float] = {}
    for spec in specs:
        name, sep, arg = spec.partition("=")
        if not sep or not arg:
            raise LabError(f"bad fault {spec!r}: expected NAME=SYSTEM[:DURATION]")
        if name not in ("standby-down", "repl-lag", "slow-promote"):
            raise LabError(f"unknown fault {name!r}: use standby-down, repl-lag or slow-promote")
        system, _, dur = arg.partition(":")
        targets = list(SYSTEM_IDS) if system == "all" else [system]
        if system != "all" and system not in SYSTEM_IDS:
            raise LabError(
                f"fault {spec!r}: unknown system {system!r} (one of: {', '.join(SYSTEM_IDS)}, all)"
            )
        if name == "standby-down":
            down.extend(targets)
            continue
        try:
            seconds = parse_duration(dur)
        except ValueError as exc:
            raise LabError(f"fault {spec!r}: {exc}") from None
        (lag if name == "repl-lag" else slow).update(dict.fromkeys(targets, seconds))
    return Faults(tuple(dict.fromkeys(down)), lag, slow)


def port_base_from_env() -> int:
    raw = os.environ.get("BCDRILL_LAB_PORT_BASE", "")
    if not raw:
        return DEFAULT_PORT_BASE
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535 - PORT_BLOCK * len(SYSTEMS):
        raise LabError(f"BCDRILL_LAB_PORT_BASE={raw!r} is not a usable port number")
    return int(raw)


def system_ports(base: int, index: int) -> dict[str, int]:
    first = base + PORT_BLOCK * index
    names = ("prod_svc", "prod_admin", "prod_repl", "dr_svc", "dr_admin", "dr_repl", "entry")
    return {name: first + offset for offset, name in enumerate(names)}


def build_layout(
    lab_dir: Path,
    faults: Sequence[str] = (),
    *,
    port_base: int | None = None,
    write_interval: float = 0.5,
    seed_hours: float = 24.0,
) -> Layout:
    parsed = parse_faults(faults)
    base = port_base_from_env() if port_base is None else port_base
    systems = {
        spec.id: SystemLayout(
            id=spec.id,
            title=spec.title,
            protocol=spec.protocol,
            kind=spec.kind,
            tier=spec.tier,
            lag=parsed.repl_lag.get(spec.id, spec.lag),
            slow_promote=parsed.slow_promote.get(spec.id, 0.0),
            standby_down=spec.id in parsed.standby_down,
            ports=system_ports(base, i),
        )
        for i, spec in enumerate(SYSTEMS)
    }
    addresses = {
        "prod": os.environ.get("BCDRILL_LAB_PROD_ADDR", "127.0.0.2"),
        "dr": os.environ.get("BCDRILL_LAB_DR_ADDR", "127.0.0.3"),
        "entry": os.environ.get("BCDRILL_LAB_ENTRY_ADDR", "127.0.0.1"),
    }
    return Layout(str(lab_dir.resolve()), addresses, base, write_interval, seed_hours, tuple(faults), systems)


def save_layout(layout: Layout) -> Path:
    path = Path(layout.lab_dir) / LAYOUT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(layout), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def load_layout(lab_dir: Path) -> Layout:
    path = lab_dir / LAYOUT_FILE
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabError(f"no lab in {lab_dir} (no {LAYOUT_FILE}); start one with `drill lab up`") from None
    except (OSError, ValueError) as exc:
        raise LabError(f"unreadable {path}: {exc}") from None
    systems = {k: SystemLayout(**v) for k, v in raw.pop("systems").items()}
    return replace(Layout(**raw, systems={}), faults=tuple(raw["faults"]), systems=systems)


def default_lab_dir() -> Path:
    """`$BCDRILL_LAB_DIR`, else `./.lab` in the current directory."""
    env = os.environ.get("BCDRILL_LAB_DIR")
    return Path(env) if env else Path.cwd() / ".lab"
