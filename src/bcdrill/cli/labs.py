"""`drill lab` and `drill demo`: the built-in two-site lab."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bcdrill.cli.common import EXIT_OK


def lab_dir_of(args: argparse.Namespace) -> Path:
    return Path(args.lab_dir or os.environ.get("BCDRILL_LAB_DIR") or ".lab")


def cmd_lab(args: argparse.Namespace) -> int:
    from bcdrill import lab

    lab_dir = lab_dir_of(args)
    if args.lab_command == "up":
        print(lab.render_status(lab.lab_up(lab_dir, args.fault or [])))
    elif args.lab_command == "down":
        lab.lab_down(lab_dir)
        print(f"lab in {lab_dir} is down")
    elif args.lab_command == "status":
        print(lab.render_status(lab.lab_status(lab_dir)))
    else:
        return lab.lab_ctl([*args.ctl_args], lab_dir=lab_dir)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from bcdrill.cli.consoles import console_listener
    from bcdrill.cli.demo import run_demo

    return run_demo(
        lab_dir=lab_dir_of(args),
        faults=args.fault or [],
        lang=args.lang,
        run_dir=Path(args.run_dir) if args.run_dir else None,
        console=console_listener(args, show_links=True),
        auto_ack=not args.manual,
    )
