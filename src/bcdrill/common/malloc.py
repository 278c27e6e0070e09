"""Fewer C-library malloc arenas for the runner process.

glibc gives each thread that meets a busy arena a new one, up to 8 per core. The runner's steps
run on worker threads, so a long run's larger objects (journal lines, records, dicts) spread
over many arenas, and their freed space is kept per arena: a 30,000-step run peaked at 177 MB
with the default and at 162 MB with two arenas, taking as long. Python's objects are made
under the global interpreter lock, so more arenas buy the runner next to no parallelism.
`MALLOC_ARENA_MAX` in the environment, when set, is left to decide.
"""

from __future__ import annotations

import os

M_ARENA_MAX = -8  # malloc.h
RUNNER_ARENAS = 2


def limit_arenas(count: int = RUNNER_ARENAS) -> bool:
    """Ask glibc for at most `count` arenas from now on; False where that cannot be asked (another
    C library) or the environment already says (`MALLOC_ARENA_MAX`)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count) == 1)
