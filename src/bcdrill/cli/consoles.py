"""`drill console RUN_DIR`: the live web console of a running or finished drill (docs/console.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bcdrill.cli.common import EXIT_OK
from bcdrill.common.errors import RunDirError

DEFAULT_LISTEN = "127.0.0.1:8470"


def exposure_of(args: argparse.Namespace, listen: str) -> Any:
    from bcdrill.listeners.console.server import Exposure, parse_listen

    option = "--listen" if getattr(args, "listen", None) else "--console"
    return Exposure(
        parse_listen(listen, option),
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        insecure_http=args.insecure_http,
    )


def console_listener(args: argparse.Namespace, *, show_links: bool = False) -> Any:
    """The ConsoleListener `--console HOST:PORT` asks for (the socket is bound now), or None."""
    if not getattr(args, "console", None):
        return None
    from bcdrill.listeners.console import ConsoleListener

    return ConsoleListener(exposure_of(args, args.console), sys.stderr, show_links=show_links)


def cmd_console(args: argparse.Namespace) -> int:
    from bcdrill.listeners.console.server import ConsoleServer, bind, check_exposure, links, stderr_log

    run_dir = Path(args.run_dir)
    if not (run_dir / "journal.jsonl").is_file():
        raise RunDirError(f"{run_dir} is not a drill run directory (no journal.jsonl)")
    exposure = exposure_of(args, args.listen or DEFAULT_LISTEN)
    if args.links:
        base = args.base_url or exposure.base_url()
        for name, team, role, url in links(run_dir, base):
            print(f"{name}\t{team}\t{role}\t{url}")
        return EXIT_OK
    check_exposure(exposure, sys.stderr)
    server = ConsoleServer(run_dir, exposure, bind(exposure.listen), stderr_log)
    print(f"console: {server.url}", flush=True)
    server.serve()
    return EXIT_OK


def add_exposure_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls-cert", metavar="FILE", help="serve the console over HTTPS with this certificate")
    p.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert")
    p.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow plain HTTP on a non-loopback address (tokens can be read on the network)",
    )


def add_console_parser(sub: Any) -> None:
    p = sub.add_parser(
        "console",
        help="the live web console of a running or finished drill",
        description="Serve the drill room: every participant opens their personal link, sees the drill "
        "live and confirms the steps of their team; the drill commander can hold, continue, skip, retry "
        "and mark done. Docs: docs/console.md.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--listen", metavar="HOST:PORT", help=f"where to listen (default {DEFAULT_LISTEN})")
    p.add_argument(
        "--links",
        action="store_true",
        help="print NAME<TAB>TEAM<TAB>ROLE<TAB>URL for every participant (personal links) and exit",
    )
    p.add_argument("--base-url", metavar="URL", help="with --links: the console's address as people reach it")
    add_exposure_options(p)
    p.set_defaults(func=cmd_console)
