"""`python -m bcdrill.lab up|down|status|ctl ...`: the lab without the rest of the CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bcdrill.lab import LabError, default_lab_dir, lab_ctl, lab_down, lab_status, lab_up, render_status


def main(argv: list[str]) -> int:
    if argv[:1] == ["ctl"]:
        return lab_ctl(argv[1:])
    p = argparse.ArgumentParser(prog="python -m bcdrill.lab")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--lab-dir", type=Path, default=None)
    p.add_argument("--fault", action="append", default=[], metavar="NAME=SYSTEM[:DURATION]")
    args = p.parse_args(argv)
    lab_dir = args.lab_dir or default_lab_dir()
    try:
        if args.action == "up":
            print(render_status(lab_up(lab_dir, args.fault)))
        elif args.action == "down":
            lab_down(lab_dir)
            print(f"lab in {lab_dir.resolve()} stopped")
        else:
            print(render_status(lab_status(lab_dir)))
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
