"""A python check reporting the newest data timestamp (tests/integration/test_remote_cli.py)."""

from __future__ import annotations

import time
from typing import Any


def newest(path: str, lag: float = 0.0, timeout: float | None = None) -> dict[str, Any]:
    return {
        "ok": True,
        "detail": f"newest data in {path} is {lag:g}s old",
        "observed": {"lag": lag, "had_timeout": timeout is not None},
        "data_timestamp": time.time() - lag,
    }
