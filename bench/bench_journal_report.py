"""Benchmark: journal append/read/verify of 20,000 lines and reports of 10,000 steps.

Targets: append well under 1 ms a line (fsync included), read + verify 20k lines < 1 s,
each report of 10,000 steps <= 3 s. Run: .venv/bin/python bench/bench_journal_report.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bcdrill.common.redact import Redactor
from bcdrill.record.journal import Journal, read_journal, verify_journal
from bcdrill.render import render


def bench_journal(directory: Path, lines: int = 20_000) -> list[dict[str, Any]]:
    path = directory / "journal.jsonl"
    journal = Journal.create(path, redactor=Redactor(["s3cret-value"]))
    start = time.perf_counter()
    for i in range(lines):
        journal.append("step.finished", step=f"s{i}", attempt=1, status="ok", duration=0.5, detail="完成")
    journal.close()
    print(f"append: {(time.perf_counter() - start) / lines * 1000:.3f} ms/line")
    start = time.perf_counter()
    records = read_journal(path)
    print(f"read {lines} lines: {time.perf_counter() - start:.3f} s")
    start = time.perf_counter()
    assert verify_journal(path).ok
    print(f"verify {lines} lines: {time.perf_counter() - start:.3f} s")
    return records


def bench_reports(directory: Path, steps: int = 10_000) -> None:
    path = directory / "big.jsonl"
    journal = Journal.create(path, redactor=Redactor([]))
    snapshot = {"systems": {}, "steps": [{"id": f"s{i}", "title": f"步骤 {i}"} for i in range(steps)]}
    journal.append("run.started", scenario="big", run_id="r", snapshot=snapshot)
    for i in range(steps):
        journal.append("step.started", step=f"s{i}", attempt=1)
        journal.append("step.finished", step=f"s{i}", attempt=1, status="ok", duration=0.1, detail="ok")
    journal.append("run.finished", status="complete", exit_code=0)
    journal.close()
    events = read_journal(path)
    for fmt in ("md", "html", "json", "junit"):
        start = time.perf_counter()
        render(events, fmt, "zh")
        print(f"render {fmt} of {steps} steps: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        bench_journal(Path(tmp))
        bench_reports(Path(tmp))
