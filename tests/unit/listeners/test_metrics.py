"""Metrics from journal records: textfile parsed back, live RTO, HTTP port, failing pushgateway."""

from __future__ import annotations

import logging
import socket
import urllib.request
from pathlib import Path

import pytest
from journal_fixtures import reference_events
from prometheus_client.parser import text_string_to_metric_families

from bcdrill.listeners.metrics import MetricsListener


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _get(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted({"scenario": "annual-2026", **labels}.items())))]


def test_textfile_after_a_replayed_journal(tmp_path: Path) -> None:
    prom = tmp_path / "drill.prom"
    listener = MetricsListener(textfile=prom)
    for record in reference_events():
        listener.on_event(record)
    s = _samples(prom.read_text())
    assert _get(s, "drill_run_in_progress") == 0
    assert _get(s, "drill_steps_total", status="ok") == 9
    assert _get(s, "drill_steps_total", status="timeout") == 1
    assert _get(s, "drill_steps_total", status="failed") == 0  # the retried attempt is not a final outcome
    assert _get(s, "drill_step_duration_seconds", step="promote-core-db", status="ok") == 110.0
    assert (
        "drill_step_duration_seconds",
        (("scenario", "annual-2026"), ("status", "failed"), ("step", "promote-core-db")),
    ) not in s
    assert _get(s, "drill_rto_seconds", system="core-individual") == 10800.0
    assert _get(s, "drill_rto_seconds", system="mail") == 12200.0 - 300.0  # frozen at the run's end
    assert _get(s, "drill_rto_target_seconds", system="core-individual") == 14400.0
    assert _get(s, "drill_rpo_seconds", system="e-sales") == 1200.0
    assert _get(s, "drill_rpo_target_seconds", system="website") == 1800.0
    assert _get(s, "drill_system_recovered", system="core-individual") == 1
    assert _get(s, "drill_system_recovered", system="mail") == 0
    assert ("drill_rpo_target_seconds", (("scenario", "annual-2026"), ("system", "mail"))) not in s
    assert [p.name for p in tmp_path.iterdir()] == ["drill.prom"]  # no temp files left behind
    listener.close()


def test_textfile_written_at_step_end_with_live_rto(tmp_path: Path) -> None:
    prom = tmp_path / "drill.prom"
    listener = MetricsListener(textfile=prom)
    events = reference_events()
    upto = next(i for i, e in enumerate(events) if e["event"] == "step.finished" and e["step"] == "isolate")
    for record in events[: upto + 1]:
        listener.on_event(record)
    s = _samples(prom.read_text())
    assert _get(s, "drill_run_in_progress") == 1
    elapsed = _get(s, "drill_rto_seconds", system="core-individual")
    assert 120.5 <= elapsed < 130.0  # isolate ended at t=420.5, T0 = 300
    listener.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_port_serves_the_registry() -> None:
    port = _free_port()
    listener = MetricsListener(port=port)
    try:
        for record in reference_events()[:3]:
            listener.on_event(record)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'drill_run_in_progress{scenario="annual-2026"} 1.0' in body
    finally:
        listener.close()


def test_failing_pushgateway_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    port = _free_port()  # nothing listens there
    listener = MetricsListener(pushgateway=f"http://127.0.0.1:{port}", push_timeout=1.0)
    with caplog.at_level(logging.WARNING, logger="bcdrill.listeners.metrics"):
        for record in reference_events():
            listener.on_event(record)
        listener.close()
    assert any("pushing drill metrics failed" in r.message for r in caplog.records)


def test_pushgateway_receives_the_metrics_with_the_grouping_key() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        listener = MetricsListener(pushgateway=f"http://127.0.0.1:{server.server_address[1]}")
        for record in reference_events():
            listener.on_event(record)
        listener.close()
    finally:
        server.shutdown()
        server.server_close()
    path, body = received[-1]
    assert path.startswith("/metrics/job/bcdrill/")
    assert "/scenario/annual-2026" in path and "/run_id/20260501T003000Z" in path
    assert 'drill_system_recovered{scenario="annual-2026",system="core-individual"} 1.0' in body
