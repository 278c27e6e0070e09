"""The nginx traffic-switch reference drill (scenarios/reference/nginx-switch.yaml) run by a real
`drill run` against a real nginx from Debian's package, proxying on loopback to two real HTTP
backends (production and DR), through real ansible-playbook. The drill's RTO is checked against the
truth the test takes on its own: a client polling the proxy every 20 ms sees the first DR answer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sshd import free_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "reference" / "nginx-switch.yaml"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """\
{user}worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  include {d}/upstream.conf;
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://app_backend; }}
  }}
}}
"""


class Site:
    """nginx on 127.0.0.1 in its own prefix, two `python -m http.server` backends behind it."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "nginx"
        (self.dir / "tmp").mkdir(parents=True)
        self.port = free_port()
        self.backends: dict[str, str] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        for site in ("production", "dr"):
            docs = root / site
            docs.mkdir()
            (docs / "index.html").write_text(f"<h1>site={site}</h1>\n", encoding="utf-8")
            port = free_port()
            self.procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "http.server",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--directory",
                        str(docs),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            self.backends[site] = f"127.0.0.1:{port}"
        self.upstream = self.dir / "upstream.conf"
        self.upstream.write_text(f"upstream app_backend {{ server {self.backends['production']}; }}\n")
        user = "user root;\n" if os.geteuid() == 0 else ""
        (self.dir / "nginx.conf").write_text(CONF.format(user=user, d=self.dir, port=self.port))
        self.args = f"-p {self.dir} -c {self.dir}/nginx.conf -e {self.dir}/error.log"
        subprocess.run([NGINX, *self.args.split()], check=True, capture_output=True, timeout=30)
        self.url = f"http://127.0.0.1:{self.port}/"
        self.wait_for("site=production")

    def get(self) -> str:
        try:
            with urllib.request.urlopen(self.url, timeout=2) as answer:
                return str(answer.read().decode())
        except OSError as exc:
            return f"error: {exc}"

    def wait_for(self, text: str, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while text not in self.get():
            assert time.monotonic() < deadline, f"{self.url} never answered {text}"
            time.sleep(0.05)

    def stop_backend(self, name: str) -> None:
        """Stop one site's backend (production is the first, DR the second)."""
        proc = self.procs[list(self.backends).index(name)]
        proc.terminate()
        proc.wait(10)

    def stop(self) -> None:
        subprocess.run([NGINX, *self.args.split(), "-s", "quit"], capture_output=True, timeout=30)
        for proc in self.procs:
            proc.terminate()
            proc.wait(10)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    if not os.access(NGINX, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is required in CI: apt-get install nginx")
        pytest.skip("nginx is not installed")
    running = Site(tmp_path)
    try:
        yield running
    finally:
        running.stop()


class Watcher(threading.Thread):
    """The truth: the wall time of every change of the answering site, as a user polling sees it."""

    def __init__(self, site: Site) -> None:
        super().__init__(daemon=True)
        self.site = site
        self.changes: list[tuple[float, str]] = []
        self.done = threading.Event()

    def run(self) -> None:
        last = None
        while not self.done.is_set():
            body = self.site.get()
            now = time.time()
            current = "dr" if "site=dr" in body else "production" if "site=production" in body else "error"
            if current != last:
                self.changes.append((now, current))
                last = current
            time.sleep(0.02)


def run_switch(
    site: Site, tmp_path: Path, *options: str, **extra: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`drill run` of the reference scenario against `site` (auto-acknowledged, with `options` such as
    --dry-run); its result and run dir."""
    inventory = tmp_path / "proxies.ini"
    inventory.write_text(
        f"[proxies]\nproxy-1 ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    run_dir = tmp_path / "run"
    variables = {
        "proxy_url": site.url,
        "upstream_file": str(site.upstream),
        "nginx_bin": NGINX,
        "nginx_args": site.args,
        "production_backend": site.backends["production"],
        "dr_backend": site.backends["dr"],
        **extra,
    }
    argv = [
        "run",
        str(SCENARIO),
        "--run-dir",
        str(run_dir),
        "--auto-ack",
        "--inventory",
        str(inventory),
        *options,
    ]
    argv += [arg for name, value in variables.items() for arg in ("--var", f"{name}={value}")]
    result = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, run_dir


def test_the_traffic_moves_to_dr_and_back_and_the_rto_matches_what_users_saw(
    site: Site, tmp_path: Path
) -> None:
    watcher = Watcher(site)
    watcher.start()
    result, run_dir = run_switch(site, tmp_path)
    watcher.done.set()
    watcher.join(10)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sites = [c[1] for c in watcher.changes]
    # A graceful reload lets the old worker answer a few requests more: a user may see the old site
    # for some tens of milliseconds after the first answer from the new one.
    assert sites[0] == "production" and sites[-1] == "production" and "dr" in sites, watcher.changes
    assert "error" not in sites, watcher.changes  # no user ever got an error during either switch
    assert "site=production" in site.get()
    assert site.backends["production"] in site.upstream.read_text()
    assert site.backends["dr"] not in site.upstream.read_text()

    records = [
        json.loads(line) for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    declared: dict[str, Any] = next(r for r in records if r["event"] == "clock.declared")
    t0 = datetime.fromisoformat(declared["t0_ts"].replace("Z", "+00:00")).timestamp()
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    measured = summary["systems"]["website"]["rto_achieved"]
    first_dr = next(at for at, current in watcher.changes if current == "dr")
    back_ts = next(r["ts"] for r in records if r["event"] == "step.started" and r["step"] == "switch-back")
    back = datetime.fromisoformat(back_ts.replace("Z", "+00:00")).timestamp()
    settled = [c for c in watcher.changes if first_dr + 0.5 < c[0] < back]
    assert settled == [], f"users were sent back to production before the switch-back: {watcher.changes}"
    truth = first_dr - t0  # the first DR answer a user got; from half a second later all answers were DR
    print(f"nginx switch: RTO measured {measured:.3f}s, seen by a polling user {truth:.3f}s")
    assert summary["systems"]["website"]["rto_met"] is True
    assert abs(measured - truth) < 1.0, (measured, truth)


def test_when_dr_never_answers_the_drill_aborts_and_the_rollback_puts_users_back_on_production(
    site: Site, tmp_path: Path
) -> None:
    site.stop_backend("dr")
    watcher = Watcher(site)
    watcher.start()
    result, run_dir = run_switch(site, tmp_path, switch_within="2s")
    watcher.done.set()
    watcher.join(10)
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]

    records = [
        json.loads(line) for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    finished = {r["step"]: r["status"] for r in records if r["event"] == "step.finished"}
    assert finished["switch-to-dr"] == "ok" and finished["dr-serves"] == "failed", finished
    assert finished["switch-back"] == "skipped", finished  # never started
    assert finished["rollback-to-production"] == "ok", finished
    assert finished["rollback-production-serves"] == "ok", finished
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["systems"]["website"]["rto_achieved"] is None  # never recovered: a breach, not a number

    # users saw production, the failed switch (nginx answers 502 without a DR backend), then production
    sites = [c[1] for c in watcher.changes]
    assert sites[0] == "production" and "error" in sites and sites[-1] == "production", watcher.changes
    assert "dr" not in sites, watcher.changes
    assert "site=production" in site.get()
    assert site.backends["production"] in site.upstream.read_text()
    assert site.backends["dr"] not in site.upstream.read_text()


def test_a_dry_run_rehearses_the_switch_and_leaves_users_on_production(site: Site, tmp_path: Path) -> None:
    """--dry-run: the checks through the proxy run for real, the playbooks in check mode change nothing,
    and the check that DR serves (`dry_run: skip`: nothing was switched) is shown, not run."""
    before = site.upstream.read_text()
    watcher = Watcher(site)
    watcher.start()
    result, run_dir = run_switch(site, tmp_path, "--dry-run")
    watcher.done.set()
    watcher.join(10)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    records = [
        json.loads(line) for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    finished = {r["step"]: r for r in records if r["event"] == "step.finished"}
    assert all(r["status"] == "ok" for r in finished.values()), finished
    assert finished["dr-serves"]["detail"] == "dry run: not run (dry_run: skip)"
    assert finished["pre-check"]["detail"].startswith("HTTP 200")  # asked the real proxy
    assert finished["production-serves"]["detail"].startswith("HTTP 200")
    assert [c[1] for c in watcher.changes] == ["production"]  # users never left production
    assert site.upstream.read_text() == before
