"""The argument parsers of every `drill` command (help texts and options live here)."""

from __future__ import annotations

import argparse
from typing import Any

from bcdrill import __version__
from bcdrill.cli.consoles import add_console_parser, add_exposure_options
from bcdrill.cli.labs import cmd_demo, cmd_lab
from bcdrill.cli.records import cmd_export, cmd_report, cmd_verify
from bcdrill.cli.runs import cmd_ack, cmd_note, cmd_resume, cmd_run
from bcdrill.cli.scenarios import cmd_plan, cmd_schema, cmd_validate

EPILOG = """exit codes: 0 drill complete, every step ok and every target met; 1 complete but a step failed or
a target was missed/unmeasured; 2 invalid input or usage, nothing executed; 3 aborted or interrupted
(resumable with `drill resume RUN_DIR`). Docs: docs/cli.md, docs/scenario-reference.md."""


def _add_scenario_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var",
        action="append",
        metavar="NAME=VALUE",
        help="set a template variable (overrides the scenario's vars); repeatable",
    )
    p.add_argument("--inventory", metavar="FILE", help="Ansible inventory (overrides the scenario's)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="treat warnings (an unused --var, a system whose RPO no step measures) as errors: exit 2",
    )


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
    p.add_argument(
        "--console",
        metavar="HOST:PORT",
        help="serve the live web console of this run on HOST:PORT (e.g. 127.0.0.1:8470); docs/console.md",
    )
    add_exposure_options(p)
    p.add_argument(
        "--no-notify",
        action="store_true",
        help="send no chat notifications even if the scenario has notify: (rehearsals); docs/notify.md",
    )


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
    p.add_argument(
        "--expect-head",
        metavar="HASH",
        help="the journal head you kept elsewhere (printed by the run, in summary.json): it must be in the "
        "journal, so lines cut off the end are found even when summary.json was edited to match",
    )
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
    p.add_argument(
        "--console",
        nargs="?",
        const="127.0.0.1:8470",
        metavar="HOST:PORT",
        help="serve the live web console during the demo (default 127.0.0.1:8470) and print the links",
    )
    p.add_argument(
        "--manual",
        action="store_true",
        help="people confirm the manual steps (in the console or with drill ack) instead of --auto-ack; "
        "each waits up to its timeout (5 minutes)",
    )
    add_exposure_options(p)
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
    add_console_parser(sub)
    return parser
