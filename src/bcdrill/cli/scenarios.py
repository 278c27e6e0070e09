"""`drill validate`, `drill plan`, `drill schema`: the scenario, before anything runs."""

from __future__ import annotations

import argparse
import sys

from bcdrill.cli.common import EXIT_INVALID, EXIT_OK, parse_vars, warning, with_warnings


def cmd_validate(args: argparse.Namespace) -> int:
    from bcdrill.scenario.loader import validate_paths

    warned: list[str] = []

    def on_warning(text: str) -> None:
        warned.append(text)
        warning(text)

    problems = validate_paths(
        args.files, parse_vars(args.var), inventory=args.inventory, on_warning=on_warning
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
