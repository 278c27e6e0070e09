"""`drill report`, `drill verify`, `drill export`: what is made of a run's record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bcdrill.cli.common import EXIT_FAILED, EXIT_OK
from bcdrill.common.errors import UsageError


def cmd_report(args: argparse.Namespace) -> int:
    from bcdrill.render import write_reports

    formats = args.format or ["html", "md", "json", "junit"]
    output = Path(args.output) if args.output else None
    if output is not None and len(formats) > 1:
        raise UsageError("-o/--output names one file — give exactly one --format with it")
    kwargs: dict[str, Any] = {}
    if args.previous:
        kwargs["previous"] = [Path(p) for p in args.previous]
    for path in write_reports(Path(args.run_dir), formats, lang=args.lang, output=output, **kwargs):
        print(path)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from bcdrill.record.verify import verify_run
    from bcdrill.render import check_reports, not_comparable

    run_dir = Path(args.run_dir)
    pubkey = Path(args.pubkey) if args.pubkey else None
    ok, message = verify_run(run_dir, pubkey=pubkey, expect_head=args.expect_head)
    if ok:  # the journal is intact: what is made of it must be what it makes
        problems = check_reports(run_dir)
        unchecked = not_comparable(run_dir)
        if problems:
            ok = False
            message += "".join(f"\n{run_dir / name}: ALTERED: {why}" for name, why in problems)
        elif unchecked:
            message += f"\n{run_dir}: NOT CHECKED: {unchecked}"
        else:
            message += f"\n{run_dir}: summary.json and the reports are what the journal makes"
    print(message, file=sys.stdout if ok else sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    from bcdrill.record.export import export_bundle

    key = Path(args.sign_key) if args.sign_key else None
    from bcdrill.render import write_missing_reports

    print(export_bundle(Path(args.run_dir), Path(args.output), sign_key=key, prepare=write_missing_reports))
    return EXIT_OK
