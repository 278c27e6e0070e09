"""Prometheus metrics of a drill (DESIGN.md §9), fed only by journal records.

`MetricsListener.on_event(record)` is called with every journal record, so replaying a
journal gives the same metrics as the live run. Outputs (any combination):

- `textfile`: written atomically (prometheus_client's `write_to_textfile`: a temp file in
  the same directory, then rename) after every `step.finished`, `run.finished` and
  `run.interrupted`, and on `close()` — for node_exporter's textfile collector.
- `port`: an HTTP endpoint served during the run, bound to `addr` (default 127.0.0.1:
  drill metrics are not published beyond the host unless asked; pass addr="0.0.0.0").
- `pushgateway`: pushed (job `bcdrill`, grouping key scenario + run_id) after every step
  end and at the run end from a background thread; a failed push logs a warning and never
  slows down or breaks the run. `close()` makes a final push.

Choices: `drill_steps_total{status}` counts final step outcomes (a retried attempt is not
counted); `drill_step_duration_seconds{step,status}` is a gauge holding the step's latest
attempt (the series of an earlier status of the same step is removed); `drill_rto_seconds`
is computed when read: seconds since T0 while the system is recovering (frozen at the run's
end if it never recovers), then the achieved RTO. prometheus_client is imported here only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bcdrill.common.errors import UsageError
from bcdrill.record.events import (
    CLOCK_DECLARED,
    RUN_FINISHED,
    RUN_INTERRUPTED,
    RUN_RESUMED,
    RUN_STARTED,
    STEP_FINISHED,
    SYSTEM_RECOVERED,
    SYSTEM_RPO,
    Record,
    RunStarted,
    StepFinished,
    StepStatus,
    SystemRecovered,
    SystemRpo,
)

log = logging.getLogger(__name__)

_FLUSH_EVENTS = frozenset({STEP_FINISHED, RUN_FINISHED, RUN_INTERRUPTED})
_STATUSES = ("ok", "failed", "timeout", "skipped", "cancelled", "interrupted")
PUSH_JOB = "bcdrill"


class _Pusher:
    """Pushes in a background thread whenever asked; coalesces requests; never raises."""

    def __init__(self, push: Callable[[], None]) -> None:
        self._push = push
        self._wanted = threading.Event()
        self._stopping = False
        self._failing = False
        self._thread = threading.Thread(target=self._loop, name="metrics-push", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            self.push_now()

    def push_now(self) -> None:
        try:
            self._push()
        except Exception as exc:  # a listener must never break the run
            level = logging.DEBUG if self._failing else logging.WARNING
            log.log(level, "pushing drill metrics failed: %s", exc)
            self._failing = True
        else:
            if self._failing:
                log.info("pushing drill metrics works again")
            self._failing = False

    def close(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join(timeout=10)
        self.push_now()


class MetricsListener:
    """Turns journal records into the drill metrics and publishes them."""

    def __init__(
        self,
        *,
        textfile: Path | None = None,
        port: int | None = None,
        pushgateway: str | None = None,
        addr: str = "127.0.0.1",
        push_timeout: float = 5.0,
    ) -> None:
        import prometheus_client as pc

        if hasattr(pc, "disable_created_metrics"):  # only the names of DESIGN §9: no `*_created` series
            pc.disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = pc.CollectorRegistry()
        self.textfile = textfile
        self._lock = threading.RLock()
        self._define(pc)
        self.scenario = ""
        self.run_id = ""
        self._t0: float | None = None
        self._last_t, self._last_mono, self._running = 0.0, time.monotonic(), False
        self._recovered: dict[str, float] = {}
        self._live: set[str] = set()
        self._rpo_seen: set[str] = set()
        self._step_status: dict[str, StepStatus] = {}
        self._server: Any = None
        if port is not None:
            try:
                self._server, _ = pc.start_http_server(port, addr=addr, registry=self.registry)
            except OSError as exc:
                raise UsageError(f"cannot serve metrics on {addr}:{port}: {exc.strerror or exc}") from None
        self._pusher: _Pusher | None = None
        if pushgateway:
            self._pusher = _Pusher(lambda: self._push(pc, pushgateway, push_timeout))

    def _define(self, pc: Any) -> None:
        r = self.registry
        scn, sys_ = ["scenario"], ["scenario", "system"]
        self.in_progress = pc.Gauge("drill_run_in_progress", "1 while the drill runs", scn, registry=r)
        self.steps = pc.Counter("drill_steps_total", "Steps by final status", [*scn, "status"], registry=r)
        self.step_duration = pc.Gauge(
            "drill_step_duration_seconds",
            "Duration of a step's latest attempt",
            [*scn, "step", "status"],
            registry=r,
        )
        self.rto = pc.Gauge(
            "drill_rto_seconds", "Seconds since T0 while recovering, then RTO achieved", sys_, registry=r
        )
        self.rto_target = pc.Gauge("drill_rto_target_seconds", "RTO target", sys_, registry=r)
        self.rpo = pc.Gauge("drill_rpo_seconds", "RPO achieved (T0 - newest data at DR)", sys_, registry=r)
        self.rpo_target = pc.Gauge("drill_rpo_target_seconds", "RPO target", sys_, registry=r)
        self.recovered = pc.Gauge(
            "drill_system_recovered", "1 once the system is recovered", sys_, registry=r
        )

    # ---- feeding -----------------------------------------------------------------------------

    def on_event(self, record: Record) -> None:
        """Update the metrics from one journal record; write/push at step and run ends."""
        with self._lock:
            self._last_t, self._last_mono = float(record["t"]), time.monotonic()
            self._dispatch(record)
        if record["event"] in _FLUSH_EVENTS:
            self.flush()

    def _dispatch(self, rec: Record) -> None:
        if rec["event"] == RUN_STARTED:
            self._on_run_started(rec)
        elif rec["event"] == CLOCK_DECLARED:
            self._start_clock(float(rec["t0"]))
        elif rec["event"] == RUN_RESUMED:
            self._running = True
            self.in_progress.labels(self.scenario).set(1)
        elif rec["event"] in (RUN_FINISHED, RUN_INTERRUPTED):
            self._running = False
            self.in_progress.labels(self.scenario).set(0)
        elif rec["event"] == STEP_FINISHED:
            self._on_step_finished(rec)
        elif rec["event"] == SYSTEM_RECOVERED:
            self._on_system_recovered(rec)
        elif rec["event"] == SYSTEM_RPO:
            self._on_system_rpo(rec)

    def _on_run_started(self, rec: RunStarted) -> None:
        self.scenario, self.run_id = str(rec.get("scenario") or ""), str(rec.get("run_id") or "")
        snapshot = rec.get("snapshot") or {}
        self._running = True
        self.in_progress.labels(self.scenario).set(1)
        for status in _STATUSES:
            self.steps.labels(self.scenario, status)
        for sid, spec in (snapshot.get("systems") or {}).items():
            self.recovered.labels(self.scenario, sid).set(0)
            for gauge, target in ((self.rto_target, spec.get("rto")), (self.rpo_target, spec.get("rpo"))):
                if target is not None:
                    gauge.labels(self.scenario, sid).set(target)
            self._live.add(sid)
        if not any(s.get("declares") for s in snapshot.get("steps") or []):
            self._start_clock(0.0)

    def _start_clock(self, t0: float) -> None:
        self._t0 = t0
        for sid in self._live:
            self.rto.labels(self.scenario, sid).set_function(lambda sid=sid: self._rto_value(sid))

    def _on_step_finished(self, rec: StepFinished) -> None:
        step, status = rec["step"], rec["status"]
        previous = self._step_status.get(step)
        if previous is not None and previous != status:
            self.step_duration.remove(self.scenario, step, previous)
        self._step_status[step] = status
        self.step_duration.labels(self.scenario, step, status).set(float(rec.get("duration") or 0.0))
        if rec.get("final", True):
            self.steps.labels(self.scenario, status).inc()

    def _on_system_recovered(self, rec: SystemRecovered) -> None:
        sid = str(rec["system"])
        if sid not in self._recovered:
            self._recovered[sid] = float(rec["rto"])
            self.recovered.labels(self.scenario, sid).set(1)
            if sid not in self._live:  # a system the snapshot did not name
                self._live.add(sid)
                self.rto.labels(self.scenario, sid).set_function(lambda: self._rto_value(sid))

    def _on_system_rpo(self, rec: SystemRpo) -> None:
        sid = str(rec["system"])
        if sid not in self._rpo_seen and rec.get("rpo") is not None:
            self._rpo_seen.add(sid)
            self.rpo.labels(self.scenario, sid).set(float(rec["rpo"]))

    # ---- reading -----------------------------------------------------------------------------

    def now_t(self) -> float:
        """The run's current `t`: the last record's, advanced by the monotonic clock while running."""
        with self._lock:
            if not self._running:
                return self._last_t
            return self._last_t + (time.monotonic() - self._last_mono)

    def _rto_value(self, sid: str) -> float:
        if sid in self._recovered:
            return self._recovered[sid]
        return 0.0 if self._t0 is None else max(self.now_t() - self._t0, 0.0)

    # ---- publishing --------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the textfile now and ask for a push. Failures are logged, never raised."""
        if self.textfile is not None:
            self._write_textfile()
        if self._pusher is not None:
            self._pusher.request()

    def _write_textfile(self) -> None:
        from prometheus_client import write_to_textfile

        assert self.textfile is not None
        try:
            with self._lock:
                write_to_textfile(str(self.textfile), self.registry)
        except OSError as exc:
            log.warning("writing drill metrics to %s failed: %s", self.textfile, exc)

    def _push(self, pc: Any, gateway: str, timeout: float) -> None:
        key = {"scenario": self.scenario or "unknown", "run_id": self.run_id or "unknown"}
        pc.push_to_gateway(gateway, job=PUSH_JOB, registry=self.registry, grouping_key=key, timeout=timeout)

    def close(self) -> None:
        """Final textfile write and push; stop the HTTP server."""
        if self.textfile is not None:
            self._write_textfile()
        if self._pusher is not None:
            self._pusher.close()
            self._pusher = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
