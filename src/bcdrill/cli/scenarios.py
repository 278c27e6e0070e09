"""`drill validate`, `drill plan`, `drill schema`: the scenario, before anything runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bcdrill.cli.common import EXIT_INVALID, EXIT_OK, parse_vars, warning, with_warnings

if TYPE_CHECKING:
    from bcdrill.scenario.model import Scenario


def cmd_validate(args: argparse.Namespace) -> int:
    from bcdrill.scenario.loader import validate_paths

    warned: list[str] = []
    channels: dict[str, list[str]] = {}  # of each valid file with notify:

    def on_warning(text: str) -> None:
        warned.append(text)
        warning(text)

    def on_valid(scn: Scenario) -> None:
        from bcdrill.plan.build import channels_of
        from bcdrill.plan.formats import channel_lines

        if scn.notify is not None:
            channels[scn.path] = channel_lines(channels_of(scn))

    problems = validate_paths(
        args.files, parse_vars(args.var), inventory=args.inventory, on_warning=on_warning, on_valid=on_valid
    )
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        files = len({p.file for p in problems})
        print(f"{len(problems)} problem(s) in {files} file(s)", file=sys.stderr)
        return EXIT_INVALID
    if args.strict and warned:
        print(f"--strict: {len(warned)} warning(s) count as errors", file=sys.stderr)
        return EXIT_INVALID
    for path in args.files:
        print(f"ok: {path}")
        lines = channels.get(str(Path(path).resolve()))
        if lines:
            print(f"  notify: {len(lines)} channel(s)", *("  " + line for line in lines), sep="\n")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from bcdrill.plan.build import build_plan
    from bcdrill.plan.formats import render_plan
    from bcdrill.scenario.loader import load_scenario

    scn = with_warnings(
        load_scenario(args.file, cli_vars=parse_vars(args.var), inventory=args.inventory), args.strict
    )
    text = render_plan(build_plan(scn), args.format)
    print(text, end="" if text.endswith("\n") else "\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from bcdrill.scenario.schema import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK
