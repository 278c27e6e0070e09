"""The `drill` command line: parse arguments, call one task function, map errors to exit codes.

This module is the single error boundary: `DrillError` subclasses become a
message and their exit code (2: invalid input or usage); anything else is a bug
and is reported as such. Heavy modules are imported inside the command
functions so that `drill --help` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bcdrill import __version__
from bcdrill.common.errors import DrillError, UsageError

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_ABORTED, EXIT_BUG = 0, 1, 2, 3, 70

Command = Callable[[argparse.Namespace], int]

EPILOG = """exit codes: 0 drill complete, every step ok and every target met; 1 complete but a step failed or
a target was missed/unmeasured; 2 invalid input or usage, nothing executed; 3 aborted or interrupted
(resumable with `drill resume RUN_DIR`). Docs: docs/cli.md, docs/scenario-reference.md."""


def parse_vars(pairs: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var {pair!r}: expected NAME=VALUE — e.g. --var dr_site=dr.example.internal")
        out[name.strip()] = value
    return out


# ---- commands ---------------------------------------------------------------------------------


def _warning(text: str) -> None:
    print(f"drill: warning: {text}", file=sys.stderr)


def _warn(scn: Any) -> Any:
    for warning in scn.warnings:
        _warning(warning)
    return scn


def cmd_validate(args: argparse.Namespace) -> int:
    from bcdrill.scenario.loader import validate_paths

    problems = validate_paths(args.files, parse_vars(args.var), inventory=args.inventory, on_warning=_warning)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        files = len({p.file for p in problems})
        print(f"{len(problems)} problem(s) in {files} file(s)", file=sys.stderr)
        return EXIT_INVALID
    for path in args.files:
        print(f"ok: {path}")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from bcdrill.plan.build import build_plan, render_plan
    from bcdrill.scenario.loader import load_scenario

    scn = _warn(load_scenario(args.file, cli_vars=parse_vars(args.var), inventory=args.inventory))
    text = render_plan(build_plan(scn), args.format)
    print(text, end="" if text.endswith("\n") else "\n")
    return EXIT_OK


def _listeners(args: argparse.Namespace) -> list[Any]:
    from bcdrill.run.runner import TerminalListener

    listeners: list[Any] = [TerminalListener(sys.stderr)]
    if args.metrics_port is not None or args.pushgateway or args.metrics_textfile:
        from bcdrill.listeners.metrics import MetricsListener

        textfile = Path(args.metrics_textfile) if args.metrics_textfile else None
        if textfile is not None and not textfile.absolute().parent.is_dir():
            raise UsageError(
                f"--metrics-textfile {textfile}: no directory {textfile.absolute().parent} — create it first"
            )
        listeners.append(
            MetricsListener(textfile=textfile, port=args.metrics_port, pushgateway=args.pushgateway)
        )
    return listeners


def _options(args: argparse.Namespace) -> Any:
    from bcdrill.executors.base import RunOptions

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    return RunOptions(
        dry_run=getattr(args, "dry_run", False), auto_ack=args.auto_ack, interactive=interactive
    )


def cmd_run(args: argparse.Namespace) -> int:
    from bcdrill.run.runner import run_scenario
    from bcdrill.scenario.loader import load_scenario

    cli_vars = parse_vars(args.var)
    scn = _warn(load_scenario(args.file, cli_vars=cli_vars, inventory=args.inventory))
    return run_scenario(
        scn,
        run_dir=Path(args.run_dir) if args.run_dir else None,
        options=_options(args),
        parallel=args.parallel,
        listeners=_listeners(args),
        argv=sys.argv,
        cli_vars=cli_vars,
        confirm_production=args.confirm_production,
        lang=args.lang,
    )


def cmd_resume(args: argparse.Namespace) -> int:
    from bcdrill.run.runner import resume_run

    if args.mark_done and not args.by:
        raise UsageError("--mark-done needs --by NAME — the person who checked the step's effect")
    return resume_run(
        Path(args.run_dir),
        rerun=args.rerun or [],
        mark_done=args.mark_done or [],
        by=args.by,
        options=_options(args),
        parallel=args.parallel,
        listeners=_listeners(args),
        cli_vars=parse_vars(args.var),
        argv=sys.argv,
        lang=args.lang,
        drop_partial_line=args.drop_partial_line,
    )


def cmd_ack(args: argparse.Namespace) -> int:
    from bcdrill.run.inbox import write_ack

    path = write_ack(
        Path(args.run_dir), args.step, by=args.by, result="fail" if args.fail else "pass", note=args.note
    )
    print(f"acknowledged {args.step} as {'fail' if args.fail else 'pass'} by {args.by}: {path}")
    return EXIT_OK


def cmd_note(args: argparse.Namespace) -> int:
    from bcdrill.run.inbox import add_note

    where = add_note(
        Path(args.run_dir),
        kind=args.kind,
        text=args.text,
        owner=args.owner,
        due=args.due,
        by=args.by,
        closes=args.closes,
    )
    print(f"{args.kind} noted: {where}")
    return EXIT_OK


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

    ok, message = verify_run(Path(args.run_dir), pubkey=Path(args.pubkey) if args.pubkey else None)
    print(message, file=sys.stdout if ok else sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    from bcdrill.record.export import export_bundle

    key = Path(args.sign_key) if args.sign_key else None
    print(export_bundle(Path(args.run_dir), Path(args.output), sign_key=key))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    from bcdrill.scenario.schema import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def _lab_dir(args: argparse.Namespace) -> Path:
    return Path(args.lab_dir or os.environ.get("BCDRILL_LAB_DIR") or ".lab")


def cmd_lab(args: argparse.Namespace) -> int:
    from bcdrill import lab

    lab_dir = _lab_dir(args)
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
    from bcdrill.cli.demo import run_demo

    return run_demo(
        lab_dir=_lab_dir(args),
        faults=args.fault or [],
        lang=args.lang,
        run_dir=Path(args.run_dir) if args.run_dir else None,
    )


# ---- parser -----------------------------------------------------------------------------------


def _add_scenario_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var",
        action="append",
        metavar="NAME=VALUE",
        help="set a template variable (overrides the scenario's vars); repeatable",
    )
    p.add_argument("--inventory", metavar="FILE", help="Ansible inventory (overrides the scenario's)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--parallel",
        type=_positive_int,
        default=8,
        metavar="N",
        help="run at most N steps at once (default 8)",
    )
    p.add_argument(
        "--auto-ack",
        action="store_true",
        help="acknowledge every manual step at once as 'auto' (refused in production)",
    )
    p.add_argument(
        "--metrics-port", type=int, metavar="P", help="serve Prometheus metrics on 127.0.0.1:P during the run"
    )
    p.add_argument("--pushgateway", metavar="URL", help="push metrics to this Prometheus pushgateway")
    p.add_argument(
        "--metrics-textfile",
        metavar="F",
        help="write metrics to F for node_exporter's textfile collector (atomic)",
    )
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the reports")


def _build_run_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run a drill",
        description="Run a drill scenario and write its run directory.",
        epilog=EPILOG,
    )
    p.add_argument("file", help="scenario YAML file")
    _add_scenario_inputs(p)
    p.add_argument("--run-dir", metavar="DIR", help="run directory (default runs/<name>/<UTC time>/)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="change nothing: render commands without running them, Ansible in check mode, "
        "checks run, manual steps auto-acknowledged; the report is marked DRY RUN",
    )
    p.add_argument(
        "--confirm-production",
        metavar="NAME",
        help="required for environment: production — the scenario's name",
    )
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "resume",
        help="resume an interrupted or aborted run",
        description="Resume a run directory after a crash, an interrupt or an abort. Finished "
        "steps are never re-run; an in-flight step re-runs only if idempotent.",
        epilog=EPILOG,
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--rerun", action="append", metavar="STEP", help="run STEP again; repeatable")
    p.add_argument(
        "--mark-done",
        action="append",
        metavar="STEP",
        help="record STEP as done without running it (needs --by); repeatable",
    )
    p.add_argument("--by", metavar="NAME", help="who checked the steps given to --mark-done")
    p.add_argument(
        "--drop-partial-line",
        action="store_true",
        help="set aside a last journal line cut off by a crash or power loss (kept in journal.partial, "
        "recorded in run.resumed)",
    )
    p.add_argument(
        "--var",
        action="append",
        metavar="NAME=VALUE",
        help="template variables again (secrets given with --var are not stored); repeatable",
    )
    _add_run_options(p)
    p.set_defaults(func=cmd_resume, dry_run=False)


def _build_record_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "ack",
        help="confirm a manual step from another terminal",
        description="Confirm (or fail) a manual step of a running drill. The runner records it.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("step", metavar="STEP")
    p.add_argument("--by", required=True, metavar="NAME", help="who confirms")
    p.add_argument("--fail", action="store_true", help="the verification failed")
    p.add_argument("--note", metavar="TEXT", help="what was verified or what went wrong")
    p.set_defaults(func=cmd_ack)

    p = sub.add_parser(
        "note",
        help="record a finding, action, observation or evaluation",
        description="Add a note to a run's journal (during the run or after it).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--text", required=True, help="what was found, decided, observed or evaluated")
    p.add_argument(
        "--kind", choices=["finding", "action", "observation", "evaluation"], default="observation"
    )
    p.add_argument("--owner", metavar="TEAM", help="who owns a corrective action")
    p.add_argument("--due", metavar="DATE", help="due date of a corrective action (YYYY-MM-DD)")
    p.add_argument("--by", metavar="NAME", help="who writes the note")
    p.add_argument(
        "--closes",
        metavar="ACTION_ID",
        help="close a corrective action: A-3 of this run, or RUN_ID:A-3 of an earlier drill",
    )
    p.set_defaults(func=cmd_note)


def _build_output_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="render the reports of a run from its journal",
        description="Render reports from RUN_DIR/journal.jsonl (default: html, md, json, junit "
        "into the run directory).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument(
        "--format",
        action="append",
        choices=["html", "md", "json", "junit", "pdf"],
        help="repeatable; default html, md, json and junit",
    )
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.add_argument("-o", "--output", metavar="PATH", help="write the one --format given to PATH")
    p.add_argument(
        "--previous",
        action="append",
        metavar="OLD_RUN_DIR",
        help="an earlier drill's run directory, for corrective actions and trends; repeatable",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "verify",
        help="prove a run's journal is unaltered",
        description="Recompute every journal line's hash and link; exit 0 if intact, 1 if not.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--pubkey", metavar="KEY", help="Ed25519 public key that signed the journal head")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("export", help="pack a run into an evidence bundle with SHA256SUMS")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("-o", "--output", required=True, metavar="BUNDLE.zip")
    p.add_argument("--sign-key", metavar="ED25519_KEY", help="sign the journal head with this private key")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("schema", help="print the JSON Schema of the scenario format")
    p.set_defaults(func=cmd_schema)


def _build_lab_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "lab",
        help="the built-in two-site lab on loopback",
        description="Start, stop or inspect the built-in lab: seven systems, each with a primary "
        "(production site) and a standby (DR site), replication and a workload.",
    )
    p.add_argument(
        "--lab-dir", metavar="DIR", help="lab state directory (default $BCDRILL_LAB_DIR or ./.lab)"
    )
    lab_sub = p.add_subparsers(dest="lab_command", required=True, metavar="up|down|status|ctl")
    up = lab_sub.add_parser("up", help="start the lab")
    up.add_argument(
        "--fault",
        action="append",
        metavar="KIND=ARG",
        help="make the drill go wrong on purpose, e.g. standby-down=mail, "
        "repl-lag=core-individual:300s, slow-promote=e-sales:60s; repeatable",
    )
    lab_sub.add_parser("down", help="stop every lab process")
    lab_sub.add_parser("status", help="show each instance, its role and replication lag")
    ctl = lab_sub.add_parser(
        "ctl",
        help="control the lab (used by the lab's playbooks)",
        description="Control the running lab: status, newest, promote, demote, outage, isolate, "
        "stop-replication, start-replication, freeze, role, switch, switchback, wait-sync, consistency, "
        "write, set-lag. `drill lab ctl COMMAND --help` describes each; docs/lab.md has examples.",
    )
    ctl.add_argument("ctl_args", nargs=argparse.REMAINDER, metavar="COMMAND [ARGS]", help="a lab command")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser(
        "demo",
        help="lab up + the reference annual drill + report, in one command",
        description="Start the built-in lab, run scenarios/annual-drill.yaml on it with --auto-ack, write "
        "the reports, stop the lab, and print the per-system RTO/RPO table and the report's path.",
        epilog=EPILOG,
    )
    p.add_argument(
        "--lab-dir", metavar="DIR", help="lab state directory (default $BCDRILL_LAB_DIR or ./.lab)"
    )
    p.add_argument("--run-dir", metavar="DIR", help="run directory (default runs/annual-drill/<UTC time>/)")
    p.add_argument("--fault", action="append", metavar="KIND=ARG", help="as for `drill lab up`")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drill",
        description="bcdrill: run business-continuity (disaster-recovery) drills from declarative scenarios, "
        "measure RTO/RPO, keep a tamper-evident journal and render audit-grade reports.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"bcdrill {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "validate",
        help="check scenario files; exit 0 or 2",
        description="Check scenarios without running anything. Every problem is reported as "
        "FILE:LINE:COL: message.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    _add_scenario_inputs(p)
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("plan", help="show the DAG, critical path and projected RTO per system")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=["text", "json", "dot", "mermaid"], default="text")
    _add_scenario_inputs(p)
    p.set_defaults(func=cmd_plan)
    _build_run_parsers(sub)
    _build_record_parsers(sub)
    _build_output_parsers(sub)
    _build_lab_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except DrillError as exc:
        print(_error_text(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("drill: interrupted", file=sys.stderr)
        return EXIT_ABORTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the one place a bug is turned into a message
        if os.environ.get("BCDRILL_DEBUG"):
            raise
        print(
            f"drill: internal error: {type(exc).__name__}: {exc} — this is a bug in bcdrill; "
            "run again with BCDRILL_DEBUG=1 to see the traceback",
            file=sys.stderr,
        )
        return EXIT_BUG


def _error_text(exc: DrillError) -> str:
    text = str(exc)
    problems = getattr(exc, "problems", None)
    if problems:
        return f"{text}\n{len(problems)} problem(s); nothing was executed"
    return f"drill: {text}"
