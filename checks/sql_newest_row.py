"""Stock check: the newest row of a SQL query (PostgreSQL) — its timestamp is the RPO data timestamp.

    check: {python: "checks/sql_newest_row.py:sql_newest_row",
            args: {dsn: "host=dr-db-1 dbname=core user=drill", query: "select max(created_at) from policy"}}

Needs psycopg (`pip install "psycopg[binary]"`); it is imported only when the check runs.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any


def sql_newest_row(
    dsn: str, query: str, max_age: float | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """Run `query` (one row, first column: a timestamp or Unix epoch); ok when it returns one.

    A naive timestamp is taken as UTC. With `max_age` (seconds) the row must also be that recent.
    """
    try:
        import psycopg  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        detail = 'sql_newest_row needs psycopg: pip install "psycopg[binary]" (or bcdrill[postgres])'
        return {"ok": False, "detail": detail, "observed": {}}
    try:
        value = _query(psycopg, dsn, query, timeout)
    except psycopg.Error as exc:
        return {"ok": False, "detail": f"query failed: {type(exc).__name__}: {exc}".strip(), "observed": {}}
    newest = _as_datetime(value)
    if newest is None:
        return {"ok": False, "detail": f"query returned {value!r}; expected a timestamp", "observed": {}}
    stamp = newest.isoformat().replace("+00:00", "Z")
    age = max(time.time() - newest.timestamp(), 0.0)
    observed = {"newest": stamp, "age_seconds": round(age, 3)}
    ok = max_age is None or age <= max_age
    detail = f"newest row at {stamp} ({age:.1f}s ago)"
    if not ok:
        detail += f"; expected at most {max_age:g}s old"
    return {"ok": ok, "detail": detail, "observed": observed, "data_timestamp": stamp}


def _query(psycopg: Any, dsn: str, query: str, timeout: float) -> Any:
    seconds = max(int(timeout), 1)
    with psycopg.connect(dsn, connect_timeout=seconds, autocommit=True) as conn:
        conn.execute(f"SET statement_timeout = {seconds * 1000}")
        row = conn.execute(query).fetchone()
    return None if row is None else row[0]


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    if isinstance(value, str):
        try:
            return _as_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None
