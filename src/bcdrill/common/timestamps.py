"""UTC timestamps as the journal and the inbox files write them: ISO-8601, microseconds, `Z`."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_ts(when: datetime | None = None) -> str:
    """`when` (default now) as UTC ISO-8601 with microseconds and `Z` (2026-05-01T00:30:00.000000Z)."""
    utc = (when or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"  # half the time of strftime, at every line


def parse_ts(ts: str) -> datetime:
    """The aware UTC datetime of a journal `ts` string (ValueError if it is not one)."""
    if not ts.endswith("Z"):
        raise ValueError(f"not a journal timestamp: {ts!r}")
    return datetime.fromisoformat(ts[:-1]).replace(tzinfo=timezone.utc)
