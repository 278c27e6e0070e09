"""The business workload: keeps writing records to every system through its entry point.

Run as `python -m bcdrill.lab.workload LAB_DIR`. Writes go where users' traffic goes (the entry
point), so during an outage they fail and after the traffic switch they land at the DR site. Counters
are written to `LAB_DIR/workload.json` every couple of seconds.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from bcdrill.lab.clients import write
from bcdrill.lab.config import LabError, Layout, load_layout

_running = True


def _stop(_sig: int, _frame: FrameType | None) -> None:
    global _running
    _running = False


def _write_all(layout: Layout, stats: dict[str, dict[str, Any]]) -> None:
    for cfg in layout.systems.values():
        entry = stats.setdefault(cfg.id, {"ok": 0, "failed": 0, "last_ok": None, "last_error": None})
        try:
            write(cfg, layout.addresses["entry"], cfg.ports["entry"], timeout=1.0)
        except Exception as exc:  # every failure is a data point, never a crash
            entry["failed"] += 1
            entry["last_error"] = f"{time.strftime('%H:%M:%S')} {type(exc).__name__}: {exc}"[:200]
        else:
            entry["ok"] += 1
            entry["last_ok"] = time.time()


def run(layout: Layout) -> None:
    stats: dict[str, dict[str, Any]] = {}
    out = Path(layout.lab_dir) / "workload.json"
    last_dump = 0.0
    while _running:
        started = time.monotonic()
        _write_all(layout, stats)
        if time.monotonic() - last_dump >= 2:
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps({"updated": time.time(), "systems": stats}, indent=1), encoding="utf-8")
            tmp.replace(out)
            last_dump = time.monotonic()
        time.sleep(max(0.05, layout.write_interval - (time.monotonic() - started)))


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        layout = load_layout(Path(argv[0]))
    except LabError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{time.strftime('%H:%M:%S')} workload: writing every {layout.write_interval}s", flush=True)
    run(layout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
