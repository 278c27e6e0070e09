"""Command line of the lab: `drill lab ctl COMMAND ...` (also `python -m bcdrill.lab ctl ...`).

Every command prints one line per system it touches and exits 0, or 1 with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from bcdrill.lab.clients import WriteRefused
from bcdrill.lab.config import SITES, LabError, Site
from bcdrill.lab.control import Lab, find_lab_dir, iso

Command = Callable[[Lab, argparse.Namespace], int]


def _each(lab: Lab, name: str, action: Callable[[str], str], tolerate_down: bool = False) -> int:
    rc = 0
    for system in lab.systems(name):
        try:
            print(f"{system}: {action(system)}", flush=True)
        except (LabError, WriteRefused, OSError) as exc:
            down = "not reachable" in str(exc)
            print(f"{system}: {'WARNING' if tolerate_down and down else 'FAILED'}: {exc}", flush=True)
            rc = rc if tolerate_down and down else 1
    return rc


def _other(site: Site) -> Site:
    return "dr" if site == "prod" else "prod"


def cmd_status(lab: Lab, a: argparse.Namespace) -> int:
    from bcdrill.lab.state import collect_status, render_status

    status = collect_status(lab.lab_dir)
    if a.json:
        print(json.dumps({f"{i.system}@{i.site}": i.detail or {"state": i.state} for i in status.instances}))
    else:
        print(render_status(status))
    return 0


def cmd_newest(lab: Lab, a: argparse.Namespace) -> int:
    origin = None if a.origin == "any" else a.origin
    ts = lab.newest(a.system, a.site, origin)
    if ts is None:
        print(f"{a.system}@{a.site}: no records" + (f" from {origin}" if origin else ""))
        return 1
    print(f"newest record at {a.system}@{a.site}" + (f" written at {origin}" if origin else "") + ":")
    print(iso(ts))
    return 0


def cmd_promote(lab: Lab, a: argparse.Namespace) -> int:
    def go(system: str) -> str:
        st = lab.promote(system, a.site, a.timeout)
        return f"{st['status']} ({st['records']} records, newest replicated {_ts(st['newest_replicated'])})"

    return _each(lab, a.system, go)


def cmd_demote(lab: Lab, a: argparse.Namespace) -> int:
    return _each(
        lab,
        a.system,
        lambda s: str(lab.admin(s, a.site, "POST", "/demote")["status"]) + f", following {_other(a.site)}",
    )


def _flag(flag: str, sites: tuple[Site, ...], on: bool, tolerate: bool) -> Command:
    def run(lab: Lab, a: argparse.Namespace) -> int:
        chosen = sites or (a.site,)
        value = on != bool(getattr(a, "undo", False))

        def go(system: str) -> str:
            return "; ".join(
                f"{site} {flag}={value}: {lab.set_flag(system, site, flag, value)['status']}"
                for site in chosen
            )

        return _each(lab, a.system, go, tolerate_down=tolerate)

    return run


def cmd_role(lab: Lab, a: argparse.Namespace) -> int:
    try:
        print(lab.status(a.system, a.site)["role"])
    except LabError:
        print("down")
    return 0


def cmd_switch(lab: Lab, a: argparse.Namespace) -> int:
    def go(system: str) -> str:
        lab.switch(system, a.to, a.force)
        return f"traffic → {a.to} ({lab.layout.addresses[a.to]})"

    return _each(lab, a.system, go)


def cmd_switchback(lab: Lab, a: argparse.Namespace) -> int:
    def go(system: str) -> str:
        lab.switchback(system, a.timeout, lambda line: print(f"{system}: {line}", flush=True))
        return "switched back"

    return _each(lab, a.system, go)


def cmd_wait_sync(lab: Lab, a: argparse.Namespace) -> int:
    def go(system: str) -> str:
        st = lab.wait_sync(system, a.site, a.full, a.timeout)
        lag = st["follower"]["lag"]
        return f"in sync with {_other(a.site)}: {st['records']} records, lag {lag or 0:.1f}s"

    return _each(lab, a.system, go)


def cmd_consistency(lab: Lab, a: argparse.Namespace) -> int:
    rc = 0
    for system in lab.systems(a.system):
        result = lab.compare(system)
        print(json.dumps(result, ensure_ascii=False))
        rc = rc or (0 if result["consistent"] else 1)
    return rc


def cmd_write(lab: Lab, a: argparse.Namespace) -> int:
    return _each(lab, a.system, lambda s: f"wrote {lab.write(s, a.via)} via {a.via}")


def cmd_set_lag(lab: Lab, a: argparse.Namespace) -> int:
    def go(system: str) -> str:  # the lag sits at the shipping side, which is either site after a failover
        for site in SITES:
            lab.admin(system, site, "POST", "/lag", {"seconds": a.seconds})
        return f"replication lag {a.seconds:g}s"

    return _each(lab, a.system, go)


def _ts(value: float | None) -> str:
    return "-" if value is None else iso(value)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="drill lab ctl", description="operate a running lab")
    p.add_argument("--lab-dir", help="the lab directory (default $BCDRILL_LAB_DIR or ./.lab)")
    sub = p.add_subparsers(dest="command", required=True)

    def add(
        name: str, func: Command, help_: str, site: Site | None = None, system: bool = True
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        if system:
            sp.add_argument("system", help="a system id, or `all`")
        if site:
            sp.add_argument("--site", choices=SITES, default=site)
        sp.set_defaults(func=func)
        return sp

    add("status", cmd_status, "instances, roles, replication lag", system=False).add_argument(
        "--json", action="store_true"
    )
    sp = add("newest", cmd_newest, "print the newest record's commit time (ISO-8601, last line)", "dr")
    sp.add_argument("--origin", choices=[*SITES, "any"], default="prod", help="only records written there")
    add(
        "promote", cmd_promote, "promote a standby to primary (stops applying replication)", "dr"
    ).add_argument("--timeout", type=float, default=300.0)
    add("demote", cmd_demote, "make an instance a standby of the other site (re-sync from it)", "prod")
    add(
        "outage", cmd_outage, "simulate a site outage (nothing served, nothing shipped)", "prod"
    ).add_argument("--undo", action="store_true")
    add("isolate", cmd_isolate, "cut the production <-> DR replication link").add_argument(
        "--undo", action="store_true"
    )
    add("stop-replication", cmd_stop_repl, "a standby stops applying replication", "dr")
    add("start-replication", cmd_start_repl, "a standby applies replication again", "dr")
    add("freeze", cmd_freeze, "a primary refuses writes and ships without lag", "dr").add_argument(
        "--undo", action="store_true"
    )
    add("role", cmd_role, "print an instance's role: primary, standby or down", "dr")
    sp = add("switch", cmd_switch, "move the system's traffic entry point")
    sp.add_argument("--to", choices=SITES, required=True)
    sp.add_argument("--force", action="store_true", help="even when nothing writable serves there")
    add("switchback", cmd_switchback, "return to production with the data re-synced").add_argument(
        "--timeout", type=float, default=120.0
    )
    sp = add("wait-sync", cmd_wait_sync, "wait until a standby has caught up", "prod")
    sp.add_argument("--full", action="store_true", help="every record, not only those older than the lag")
    sp.add_argument("--timeout", type=float, default=120.0)
    add("consistency", cmd_consistency, "compare the records of both sites")
    add("write", cmd_write, "one business write").add_argument(
        "--via", choices=["entry", *SITES], default="entry"
    )
    add("set-lag", cmd_set_lag, "change the replication lag").add_argument("seconds", type=float)
    return p


cmd_outage = _flag("outage", (), True, False)
cmd_isolate = _flag("link", ("prod", "dr"), False, True)
cmd_stop_repl = _flag("replication", (), False, True)
cmd_start_repl = _flag("replication", (), True, False)
cmd_freeze = _flag("freeze", (), True, False)


def lab_ctl(argv: list[str], lab_dir: Path | None = None) -> int:
    """Entry of `drill lab ctl ARGS`: 0 ok, 1 failed, 2 usage. `--lab-dir` in argv wins over `lab_dir`."""
    args = _parser().parse_args(argv)
    try:
        lab = Lab(find_lab_dir(args.lab_dir, lab_dir))
        rc: int = args.func(lab, args)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return rc
