"""The manual step's prompt at a real terminal (a pty): shown again below other steps' output, an empty
name refused with a message, a note taken (required on fail), all journaled."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect


def test_the_prompt_survives_parallel_output_and_asks_properly(tmp_path: Path) -> None:
    scenario = tmp_path / "p.yaml"
    scenario.write_text(
        "version: 1\nname: p\ntitle: p\nenvironment: lab\nsystems: {}\nsteps:\n"
        "  - {id: verify, manual: {prompt: Enter a test order at DR}, needs: [], timeout: 2m}\n"
        + "".join(f"  - {{id: noisy{i}, run: 'sleep {0.5 + i * 0.3}', needs: []}}\n" for i in range(3))
    )
    run_dir = tmp_path / "run"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bcdrill.cli", "run", str(scenario), "--run-dir", str(run_dir)],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 200),
    )
    try:
        child.expect_exact("result — pass or fail [p/f]: ")
        child.expect(r"OK(\x1b\[0m)? noisy2")  # another step's line lands below the question ...
        child.expect_exact("[verify] Enter a test order at DR")  # ... and the question is shown again
        child.expect_exact("result — pass or fail [p/f]: ")
        child.sendline("maybe")
        child.expect_exact("'maybe' is not an answer")
        child.sendline("f")
        child.expect_exact("your name: ")
        child.sendline("")
        child.expect_exact("a name is required: who confirms this step?")
        child.expect_exact("your name: ")
        child.sendline("Zhao Liu")
        child.expect_exact("what failed (a note is required): ")
        child.sendline("")
        child.expect_exact("describe the failure")
        child.sendline("order screen times out")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    records = [
        json.loads(line) for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    (ack,) = [r for r in records if r["event"] == "manual.acknowledged"]
    assert (ack["by"], ack["result"], ack["note"], ack["via"]) == (
        "Zhao Liu",
        "fail",
        "order screen times out",
        "terminal",
    )
