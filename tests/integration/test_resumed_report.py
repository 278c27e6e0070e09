"""A drill that aborted on a failed business confirmation, rolled back, and was resumed to the end: the
report never reads as an untroubled 'complete' (sections 5, 7 and 11, both languages, summary.json)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def ack_when_waiting(run_dir: Path, step: str, *extra: str) -> threading.Thread:
    def ack() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (
                drill("ack", str(run_dir), step, "--by", "Wang Wu", *extra, cwd=run_dir.parent).returncode
                == 0
            ):
                return
            time.sleep(0.2)

    thread = threading.Thread(target=ack)
    thread.start()
    return thread


def test_aborted_rolled_back_and_resumed_run_shows_its_history(tmp_path: Path) -> None:
    scenario = tmp_path / "drill.yaml"
    scenario.write_text(
        "version: 1\nname: hist\ntitle: history\nenvironment: lab\n"
        "systems:\n  app: {title: App, rto: 10m}\n"
        "steps:\n"
        "  - {id: failover, run: 'echo failed over', recovers: [app]}\n"
        "  - {id: verify, manual: {prompt: check the new business entry}, timeout: 1m}\n"
        "rollback:\n  - {id: undo, run: 'echo undone'}\n"
    )
    run_dir = tmp_path / "run"
    thread = ack_when_waiting(run_dir, "verify", "--fail", "--note", "claims page 500")
    first = drill("run", str(scenario), "--run-dir", str(run_dir), cwd=tmp_path)
    thread.join()
    assert first.returncode == 3, first.stderr  # aborted, rollback ran
    thread = ack_when_waiting(run_dir, "verify")
    resumed = drill("resume", str(run_dir), "--rerun", "verify", cwd=tmp_path)
    thread.join()
    assert resumed.returncode == 0, resumed.stderr
    assert "waiting for: drill ack" in resumed.stderr  # the hint after resume too

    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "complete" and summary["resumes"] == 1
    assert summary["status_detail"] == "complete after 1 resume (aborted 1×, rollback 1×)"
    assert [h["kind"] for h in summary["history"]] == ["rollback", "aborted", "resumed"]
    assert summary["history"][-1]["rerun"] == ["verify"] and summary["history"][-1]["user"]

    en = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "complete after 1 resume(s) (aborted 1×)" in en
    verdict = en.split("## 1.")[0]  # the line under 'OBJECTIVES NOT MET' never reads 'all met'
    assert "All steps succeeded" not in verdict and "but only after the run was interrupted" in verdict
    timeline = en.split("## 5.")[1].split("## 6.")[0]
    assert "| rollback started |" in timeline and "| aborted |" in timeline and "| resumed |" in timeline
    deviations = en.split("## 7.")[1].split("## 8.")[0]
    assert "| **high** | the drill run (" in deviations and "the drill aborted" in deviations
    assert "rollback ran" in deviations and "the drill was resumed" in deviations
    annex = en.split("## 11.")[1]
    assert "- Resumes: 1;" in annex and "rerun: verify" in annex
    zh = drill(
        "report", str(run_dir), "--format", "md", "--lang", "zh", "-o", str(tmp_path / "zh.md"), cwd=tmp_path
    )
    assert zh.returncode == 0, zh.stderr
    text = (tmp_path / "zh.md").read_text(encoding="utf-8")
    assert "所有步骤均成功" not in text.split("## 1.")[0] and "后续跑——见" in text.split("## 1.")[0]
    assert "（续跑 1 次后）" in text and "演练中止" in text and "执行了回退" in text and "续跑记录: 1" in text
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.count('class="bar actual') == 4  # failover, verify twice (two bars, a gap between), undo
    assert 'class="gap"' in html  # the time the run was stopped is drawn as a gap
