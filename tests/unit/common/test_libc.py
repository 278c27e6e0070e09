"""The runner's malloc arenas: at most two, whatever the number of worker threads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bcdrill.common.libc import limit_arenas

COUNT_ARENAS = """
import ctypes, sys, threading
from bcdrill.common.libc import limit_arenas
if sys.argv[1] == "limit":
    assert limit_arenas()
together = threading.Barrier(8)
def work():
    kept = [bytes(2000) for _ in range(200)]  # above pymalloc's 512 bytes: glibc's malloc
    together.wait()  # all eight alive at once, as a run's workers are
    kept.extend(bytes(2000) for _ in range(200))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


def arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, mode], env=env, capture_output=True, text=True, check=True
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_eight_threads_share_two_arenas_when_limited() -> None:
    assert arenas("default") > 2  # glibc's own rule: a new arena per thread, up to 8 per core
    assert arenas("limit") <= 2


def test_the_environment_decides_when_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False
