"""UTC timestamps as the journal and the inbox files write them: ISO-8601, microseconds, `Z`."""

from __future__ import annotations

from datetime import datetime, timezone

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_ts(when: datetime | None = None) -> str:
    """`when` (default now) as UTC ISO-8601 with microseconds and `Z`."""
    return (when or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime(_TS_FORMAT)


def parse_ts(ts: str) -> datetime:
    """The aware UTC datetime of a journal `ts` string (ValueError if it is not one)."""
    if not ts.endswith("Z"):
        raise ValueError(f"not a journal timestamp: {ts!r}")
    return datetime.fromisoformat(ts[:-1]).replace(tzinfo=timezone.utc)
