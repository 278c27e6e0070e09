"""`drill demo`: lab up, the reference annual drill with --auto-ack, reports, lab down — one command."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bcdrill.common.duration import format_duration
from bcdrill.common.errors import UsageError

SCENARIO = "annual-drill.yaml"


def find_scenario(name: str = SCENARIO) -> Path:
    """The shipped scenario: next to the package in a checkout, or inside an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package.parent.parent / "scenarios" / name, package / "_data" / "scenarios" / name):
        if candidate.is_file():
            return candidate
    raise UsageError(f"cannot find scenarios/{name} — run `drill demo` from a bcdrill checkout")


def run_demo(
    *,
    lab_dir: Path,
    faults: Sequence[str],
    lang: str,
    run_dir: Path | None,
    console: Any = None,
    auto_ack: bool = True,
) -> int:
    """`console`: a ConsoleListener (`--console`): the web console serves the demo's run; without
    `auto_ack` (`--manual`) people confirm the manual steps there (or with `drill ack`)."""
    from bcdrill import lab
    from bcdrill.cli.runs import report_run
    from bcdrill.executors.base import RunOptions
    from bcdrill.listeners.terminal import TerminalListener
    from bcdrill.run.request import RunRequest
    from bcdrill.run.rundir import default_run_dir
    from bcdrill.run.runner import run_scenario
    from bcdrill.scenario.loader import load_scenario

    os.environ["BCDRILL_LAB_DIR"] = str(lab_dir.resolve())  # the playbooks' `drill lab ctl` finds it there
    cli_vars = {}
    if os.environ.get("BCDRILL_LAB_PORT_BASE"):
        cli_vars["lab_port_base"] = os.environ["BCDRILL_LAB_PORT_BASE"]
    scn = load_scenario(find_scenario(), cli_vars=cli_vars)
    target = run_dir or default_run_dir(scn)
    print(f"==> starting the lab in {lab_dir}", file=sys.stderr)
    print(lab.render_status(lab.lab_up(lab_dir, list(faults))), file=sys.stderr)
    try:
        request = RunRequest(
            options=RunOptions(auto_ack=auto_ack),
            listeners=[TerminalListener(sys.stderr), *([console] if console is not None else [])],
            argv=tuple(sys.argv),
            cli_vars=cli_vars,
            run_dir=target,
        )
        code = report_run(run_scenario(scn, request), lang)
    finally:
        print(f"==> stopping the lab in {lab_dir}", file=sys.stderr)
        lab.lab_down(lab_dir)
    print(results_table(json.loads((target / "summary.json").read_text(encoding="utf-8"))))
    print(f"\nReport: {(target / 'report.html').resolve()}")
    print(f"Verify: drill verify {target}")
    return code


def results_table(summary: dict[str, Any]) -> str:
    """The per-system RTO/RPO table printed at the end of the demo."""
    rows = [("system", "RTO target", "RTO achieved", "verdict", "RPO target", "RPO achieved", "verdict")]
    for system, r in summary["systems"].items():
        rows.append(
            (
                system,
                format_duration(r["rto_target"]),
                format_duration(r["rto_achieved"]) if r["rto_achieved"] is not None else "-",
                _VERDICTS.get(r.get("rto_status"), ""),
                format_duration(r["rpo_target"]),
                format_duration(r["rpo_achieved"]) if r["rpo_achieved"] is not None else "-",
                _VERDICTS.get(r.get("rpo_status"), ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([f"Drill {summary['scenario']}: {summary['status']}", *lines])


_VERDICTS = {"met": "met", "missed": "BREACH", "not-achieved": "NOT ACHIEVED", "unmeasured": "UNMEASURED"}
