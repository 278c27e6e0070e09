"""The drill room: a live web console of a running or finished drill (DESIGN.md §10, docs/console.md).

- `tail.py` follows the journal as it grows; `state.py` folds it into the console's state;
  `views.py` makes the JSON of the API; `hub.py` ties them to the event stream.
- `tokens.py` (per-run secret, personal tokens, sessions, rate limit) and `auth.py` decide who
  is asking; `actions.py` checks what they ask and drops it as a request file for the runner
  (`run/inbox.py`, `run/requests.py`): the console never writes the journal.
- `app.py` is the Starlette app, `server.py` serves it with uvicorn, `assets/` holds the page
  (one HTML file, one hand-written script, one style sheet: no build step, no CDN).
- `ConsoleListener` starts the console beside a running drill (`drill run --console HOST:PORT`).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TextIO

from bcdrill.listeners.console.server import ConsoleServer, Exposure, bind, check_exposure, links
from bcdrill.record.events import RUN_STARTED, Record

LINGER = 1.0  # seconds the console stays up after the run ends: pushed updates arrive within a second


class ConsoleListener:
    """Serves the console of the run it listens to: the socket is bound at once (a busy port stops the
    drill before it starts); the server starts with the run's `run.started` and stops with the run."""

    def __init__(self, exposure: Exposure, out: TextIO, *, show_links: bool = False) -> None:
        check_exposure(exposure, out)
        self.exposure = exposure
        self.out = out
        self.show_links = show_links
        self.sock = bind(exposure.listen)
        self.server: ConsoleServer | None = None

    def on_event(self, record: Record) -> None:
        if self.server is not None:
            self.server.hub.wake()
            return
        if record["event"] != RUN_STARTED:
            return
        run_dir = Path(record.get("run_dir") or ".")
        log_path = run_dir / "console.log"

        def log(line: str) -> None:
            with contextlib.suppress(OSError), log_path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

        self.server = ConsoleServer(run_dir, self.exposure, self.sock, log)
        self.server.start()
        self._announce(run_dir)

    def _announce(self, run_dir: Path) -> None:
        assert self.server is not None
        self.out.write(f"console: {self.server.url}\n")
        if self.show_links:
            base = self.server.url.rstrip("/")
            for name, team, role, url in links(run_dir, base):
                self.out.write(f"{name}\t{team}\t{role}\t{url}\n")
        else:
            self.out.write(f"console: personal links: drill console {run_dir} --links\n")
        self.out.flush()

    def close(self) -> None:
        if self.server is not None:
            self.server.hub.wake()  # the end of the run reaches every open page before the server stops
            time.sleep(LINGER)
            self.server.stop()
        else:
            with contextlib.suppress(OSError):
                self.sock.close()


__all__ = ["ConsoleListener", "ConsoleServer", "Exposure"]
