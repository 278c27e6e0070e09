"""TerminalListener: one concise live line per step start/end (and run start/end) on stderr.

Colour only when the stream is a terminal. A listener like any other: it reads the
journal records, never the runner's state.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from bcdrill.common import terminal
from bcdrill.common.duration import format_duration
from bcdrill.record.events import (
    RUN_FINISHED,
    RUN_INTERRUPTED,
    RUN_RESUMED,
    RUN_STARTED,
    STEP_FINISHED,
    STEP_STARTED,
    SYSTEM_RECOVERED,
    SYSTEM_RPO,
    Record,
    RunStarted,
)

_COLOURS = {
    "ok": "32",
    "failed": "31",
    "timeout": "31",
    "skipped": "33",
    "interrupted": "35",
    "cancelled": "35",
}


class TerminalListener:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.colour = bool(isatty and isatty())
        self.targets: dict[tuple[str, str], float] = {}  # (system, "rto"|"rpo") -> target seconds
        self.manual: set[str] = set()  # manual steps that wait for `drill ack` (no terminal, no auto-ack)
        self.manual_steps: set[str] = set()  # every manual step of the scenario
        self.run_dir = "RUN_DIR"

    def _paint(self, text: str, status: str) -> str:
        code = _COLOURS.get(status)
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text

    def on_event(self, record: Record) -> None:
        line = self._line(record)
        if line is not None:
            self.stream.write(f"{_clock(record)} {line}\n")
            self.stream.flush()
            terminal.reprompt()  # a question someone is answering is not buried by this line

    def _line(self, r: Record) -> str | None:
        if r["event"] == STEP_STARTED:
            extra = f" (attempt {r['attempt']})" if r["attempt"] > 1 else ""
            if r["step"] in self.manual:
                extra += (
                    f" — waiting for: drill ack {self.run_dir} {r['step']} --by NAME [--fail] [--note TEXT]"
                )
            return f"  → {r['step']}{extra}"
        if r["event"] == STEP_FINISHED:
            status = r["status"]
            took = "" if status == "skipped" else f" {format_duration(r.get('duration'))}"
            retry = "" if r.get("final", True) else " (will retry)"
            return (
                f"  {self._paint(status.upper(), status)} {r['step']}{took}{retry} — {r.get('detail') or ''}"
            )
        if r["event"] == SYSTEM_RECOVERED:
            return self._measured(r, "rto", f"{r['system']} recovered, RTO")
        if r["event"] == SYSTEM_RPO:
            return self._measured(r, "rpo", f"{r['system']} RPO")
        if r["event"] == RUN_STARTED:
            self._remember_targets(r)
            self._remember_manual(r)
            return f"{r['event']} {r['scenario']}".rstrip()
        if r["event"] == RUN_RESUMED:
            self._hint_manual(bool(r.get("auto_ack") or r.get("interactive") or r.get("dry_run")))
            return r["event"]
        if r["event"] == RUN_INTERRUPTED:
            return f"interrupted ({r.get('reason')}); in flight: {', '.join(r.get('in_flight') or []) or '-'}"
        if r["event"] == RUN_FINISHED:
            return f"run {r['status']} (exit {r['exit_code']})"
        return None

    def _remember_manual(self, r: RunStarted) -> None:
        self.run_dir = str(r.get("run_dir") or "RUN_DIR")
        snapshot = r.get("snapshot") or {}
        steps = [*(snapshot.get("steps") or []), *(snapshot.get("rollback") or [])]
        self.manual_steps = {str(s["id"]) for s in steps if s.get("kind") == "manual"}
        self._hint_manual(bool(r.get("auto_ack") or r.get("interactive") or r.get("dry_run")))

    def _hint_manual(self, answered_elsewhere: bool) -> None:
        """Manual steps wait for `drill ack` unless auto-acknowledged or asked at the terminal."""
        self.manual = set() if answered_elsewhere else set(self.manual_steps)

    def _remember_targets(self, r: RunStarted) -> None:
        systems = (r.get("snapshot") or {}).get("systems") or {}
        for sid, spec in systems.items():
            for kind, target in (("rto", spec.get("rto")), ("rpo", spec.get("rpo"))):
                if isinstance(target, (int, float)):
                    self.targets[(sid, kind)] = float(target)

    def _measured(self, r: Mapping[str, Any], kind: str, what: str) -> str:
        """`✔ a recovered, RTO 1.0s (target 2.0s)`, or `✘ ... — target 2.0s missed`."""
        value, target = r.get(kind), self.targets.get((str(r.get("system")), kind))
        text = f"{what} {format_duration(value)}"
        if target is None or not isinstance(value, (int, float)):
            return f"  ✔ {text}"
        if value <= target:
            return f"  ✔ {text} (target {format_duration(target)})"
        return f"  {self._paint('✘', 'failed')} {text} — target {format_duration(target)} missed"


def _clock(record: Record) -> str:
    ts = record["ts"]
    return ts[11:19] if len(ts) >= 19 else ts
