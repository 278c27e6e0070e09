"""Output handling is linear: one 5 MB and one 40 MB line without a newline, through a real step log.

    python bench/bench_output.py

Prints the seconds each takes (median of 3) and the ratio; linear handling gives about 8 (40/5).
A benchmark, not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bcdrill.common.redact import Redactor
from bcdrill.executors.transport.process import run_process
from bcdrill.run.rundir import StepLog


def one_line(megabytes: int, work: Path) -> float:
    log = StepLog(work, f"line{megabytes}", Redactor(["a-secret-value"]), header="bench\n")
    command = f"head -c {megabytes * 1_000_000} /dev/zero | tr '\\\\0' x"
    start = time.perf_counter()
    result = run_process(command, log=log, deadline=None, cancel=threading.Event())
    elapsed = time.perf_counter() - start
    log.close()
    assert result.exit_code == 0 and result.last_line is not None
    assert len(result.last_line) == megabytes * 1_000_000
    return elapsed


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bcdrill-output-"))
    (work / "logs").mkdir()
    small = statistics.median(one_line(5, work) for _ in range(3))
    big = statistics.median(one_line(40, work) for _ in range(3))
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    ratio = big / small
    print(f"one 5 MB line {small:.3f} s, one 40 MB line {big:.3f} s: ratio {ratio:.1f} (linear: about 8)")


if __name__ == "__main__":
    main()
