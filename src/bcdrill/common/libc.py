"""The C library's functions the runner calls itself (glibc, through ctypes), and fewer malloc arenas.

glibc gives each thread that meets a busy arena a new one, up to 8 per core. The runner's steps
run on worker threads, so a long run's larger objects (journal lines, records, dicts) spread
over many arenas, and their freed space is kept per arena: a 30,000-step run peaked at 177 MB
with the default and at 162 MB with two arenas, taking as long. Python's objects are made
under the global interpreter lock, so more arenas buy the runner next to no parallelism.
`MALLOC_ARENA_MAX` in the environment, when set, is left to decide.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

M_ARENA_MAX = -8  # malloc.h
RUNNER_ARENAS = 2


def libc_function(name: str, *argtypes: Any) -> Callable[..., int] | None:
    """The C library's function `name` taking C `argtypes` (ctypes types) and returning an int, or
    None where there is none (another C library, an older glibc, no ctypes)."""
    try:
        import ctypes

        function = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (ImportError, OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def limit_arenas(count: int = RUNNER_ARENAS) -> bool:
    """Ask glibc for at most `count` arenas from now on; False where that cannot be asked (another
    C library) or the environment already says (`MALLOC_ARENA_MAX`)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    import ctypes

    mallopt = libc_function("mallopt", ctypes.c_int, ctypes.c_int)
    return mallopt is not None and mallopt(M_ARENA_MAX, count) == 1
