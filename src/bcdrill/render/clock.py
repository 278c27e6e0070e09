"""Time formatting for the reports: journal UTC timestamps shown in the scenario's timezone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bcdrill.common.duration import format_duration
from bcdrill.common.timestamps import parse_ts


class Clock:
    """Formats journal UTC timestamps in the scenario's timezone, with the UTC offset."""

    def __init__(self, tz_name: str | None, started: str | None) -> None:
        try:
            self.tz: timezone | ZoneInfo = ZoneInfo(tz_name) if tz_name else timezone.utc
        except (ZoneInfoNotFoundError, ValueError):
            self.tz = timezone.utc
        self.name = tz_name or "UTC"
        self.start = self.local(started) if started else None
        self.day = self.start.date() if self.start else None

    def local(self, ts: str) -> datetime:
        return parse_ts(ts).astimezone(self.tz)

    def full(self, ts: str | None) -> str | None:
        """`2026-05-01 08:30:00 +08:00` (seconds; the journal keeps microseconds)."""
        if not ts:
            return None
        when = self.local(ts)
        return when.strftime("%Y-%m-%d %H:%M:%S ") + offset_text(when.utcoffset())

    def short(self, ts: str | None) -> str | None:
        """`08:30:05`, with `MM-DD ` in front on a day other than the run's first."""
        if not ts:
            return None
        when = self.local(ts)
        return when.strftime("%H:%M:%S" if when.date() == self.day else "%m-%d %H:%M:%S")

    def at(self, offset: float | None) -> str | None:
        """The short local time `offset` seconds after the run start."""
        if offset is None or self.start is None:
            return None
        when = self.start + timedelta(seconds=offset)
        return when.strftime("%H:%M:%S" if when.date() == self.day else "%m-%d %H:%M:%S")

    def header(self) -> str:
        """`Asia/Shanghai (UTC+08:00)`, the offset at the run's start."""
        ref = self.start or datetime.now(timezone.utc).astimezone(self.tz)
        return f"{self.name} (UTC{offset_text(ref.utcoffset())})"


def offset_text(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def utc_text(ts: str | None) -> str | None:
    return f"{ts[:10]} {ts[11:19]}Z" if ts else None


def dur(seconds: float | None) -> str | None:
    return None if seconds is None else format_duration(seconds)


def margin(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return ("+" if seconds >= 0 else "") + format_duration(seconds)
