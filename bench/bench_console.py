"""The web console under a 10,000-step drill: latency from a journal line to the page, memory, cost.

Usage: .venv/bin/python bench/bench_console.py [--steps 10000] [--chromium /usr/bin/chromium]

The drill: one manual `declare` step (confirmed through the console's API once a real headless
Chromium page is connected), then N `wait: 0.05s` steps in chains (width 100), recovering two
systems; `drill run --parallel 16`. Three configurations, each a separate real run:

- `alone`: `drill run` without a console (the baseline wall clock and peak RSS);
- `inside`: `drill run --console 127.0.0.1:0` with a page connected (the console in the runner);
- `beside`: `drill run` plus `drill console RUN_DIR` as its own process with a page connected (the
  console's own RSS is sampled every 50 ms from /proc).

Latency = the time the page received an update (`Date.now()` in the page) − the `ts` of the oldest
journal line that update carried (the longest any line waited), over every update with new lines.
Prints one Markdown table row per configuration.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

DRILL = [sys.executable, "-m", "bcdrill.cli"]


def scenario(steps: int) -> str:
    lines = [
        "version: 1",
        "name: console-bench",
        "title: console bench",
        "environment: lab",
        "defaults: {timeout: 10m, retries: 0, retry_delay: 0s, on_failure: abort}",
        "teams: {ops: {title: Ops}, tech: {title: Tech}}",
        "participants:",
        "  - {name: boss, team: tech, role: drill commander}",
        "  - {name: clerk, team: ops, role: verifier}",
        "systems:",
        "  a: {title: A, tier: 1, rto: 1h}",
        "  b: {title: B, tier: 2, rto: 2h}",
        "steps:",
        "  - {id: declare, team: ops, manual: {prompt: go}, declares: true}",
    ]
    for i in range(steps):
        need = f"w{i - 100}" if i >= 100 else "declare"
        extra = ", recovers: [a]" if i == steps - 1 else (", recovers: [b]" if i == steps - 2 else "")
        lines.append(f"  - {{id: w{i}, team: tech, wait: 0.05s, expect: 0.05s, needs: [{need}]{extra}}}")
    return "\n".join(lines) + "\n"


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid))


def wait_for(pattern: str, path: Path, proc: subprocess.Popen[Any], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            raise SystemExit(path.read_text(encoding="utf-8"))
        time.sleep(0.02)
    raise SystemExit(f"not seen: {pattern}")


def ack(url: str, token: str) -> None:
    request = urllib.request.Request(
        url + "api/steps/declare/ack",
        data=json.dumps({"result": "pass"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=30).read()


def wait_in_page(page: Any, expression: str, timeout: float = 60) -> None:
    """Poll `expression` with page.evaluate (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise SystemExit(f"page: not true in {timeout}s: {expression}")
        time.sleep(0.05)


def links(run_dir: Path, url: str) -> dict[str, str]:
    out = subprocess.run(
        [*DRILL, "console", str(run_dir), "--links", "--base-url", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {row.split("\t")[0]: row.split("\t")[3] for row in out.splitlines()}


def latencies(updates: list[dict[str, Any]]) -> list[float]:
    out, last = [], None
    for u in updates:
        if last is not None and u["seq"] != last:
            ts = u["first_ts"] or u["last_ts"]
            out.append(u["received"] / 1000 - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
        last = u["seq"]
    return out


def run_once(mode: str, path: Path, tmp: Path, chromium: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    run_dir = tmp / f"run-{mode}"
    err = tmp / f"{mode}.err"
    argv = [*DRILL, "run", str(path), "--run-dir", str(run_dir), "--parallel", "16"]
    if mode == "inside":
        argv += ["--console", "127.0.0.1:0"]
    with err.open("w") as fh:
        runner = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fh)
    run_rss = Sampler(runner.pid)
    run_rss.start()
    wait_for(r"(→ declare)", err, runner)
    console, console_rss, page_updates = None, None, []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        if mode == "alone":
            ack_url = None
            subprocess.run(
                [*DRILL, "ack", str(run_dir), "declare", "--by", "clerk"], check=True, capture_output=True
            )
        else:
            if mode == "inside":
                url = wait_for(r"console: (http://\S+/)", err, runner)
            else:
                cerr = tmp / "console.err"
                with cerr.open("w") as fh:
                    console = subprocess.Popen(
                        [*DRILL, "console", str(run_dir), "--listen", "127.0.0.1:0"],
                        stdout=fh,
                        stderr=subprocess.STDOUT,
                    )
                url = wait_for(r"console: (http://\S+/)", cerr, console)
                console_rss = Sampler(console.pid)
                console_rss.start()
            people = links(run_dir, url)
            page = browser.new_page()
            page.goto(people["boss"])
            wait_in_page(page, "window.__drill !== undefined && window.__drill.updates.length > 0")
            ack_url = url
            ack(url, people["boss"].split("#t=")[1])
        started = time.monotonic()
        runner.wait(600)
        wall = time.monotonic() - started
        if ack_url is not None:
            page.wait_for_function(
                "document.getElementById('status').className.includes('complete')", timeout=60_000
            )
            page_updates = page.evaluate("window.__drill.updates")
            rows = page.evaluate("document.querySelectorAll('#steps .step').length")
        browser.close()
    run_rss.stop.set()
    result = {"mode": mode, "wall": wall, "run_rss": run_rss.peak, "lat": latencies(page_updates)}
    if console is not None and console_rss is not None:
        console_rss.stop.set()
        result["console_rss"] = console_rss.peak
        console.terminate()
        console.wait(30)
    if ack_url is not None:
        result["rows"] = rows
    return result


def row(r: dict[str, Any]) -> str:
    lat = sorted(r["lat"])
    text = "-"
    if lat:
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        median = statistics.median(lat)
        text = f"{len(lat)} updates: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
        text += f", max {lat[-1] * 1000:.0f} ms"
    console = "-"
    if "console_rss" in r:
        console = f"{r['console_rss']:.0f} MB"
    elif r["mode"] == "inside":
        console = "in the runner"
    cells = [
        r["mode"],
        f"{r['wall']:.2f} s",
        f"{r['run_rss']:.0f} MB",
        console,
        text,
        str(r.get("rows", "-")),
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--modes", default="alone,inside,beside")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "console-bench.yaml"
        path.write_text(scenario(args.steps), encoding="utf-8")
        print(f"{args.steps} steps of `wait: 0.05s`, width 100, --parallel 16")
        print(
            "| configuration | run wall clock (after the confirmation) | runner peak RSS | "
            "console peak RSS | latency journal line -> page | step rows on the page |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        for mode in args.modes.split(","):
            print(row(run_once(mode, path, tmp, args.chromium)), flush=True)


if __name__ == "__main__":
    main()
