"""Pausing Python's cyclic garbage collector around bulk work.

Loading a 10,000-step scenario or rendering its reports allocates millions of short-lived,
acyclic objects; every full collection would walk all of them again. Reference counting still
frees everything; only the cycle detector waits until the block ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
