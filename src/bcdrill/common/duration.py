"""Durations as written in scenarios: `500ms`, `90s`, `15m`, `4h`, `1h30m`, `1d`, or seconds."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")


MAX_SECONDS = 366 * 86400.0  # longer than a year is a typo, never a drill's timing


def parse_duration(value: object) -> float:
    """Seconds in `value`; raises ValueError with a message fit for a user."""
    return _bounded(_seconds(value), value)


def _seconds(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 90s, 15m, 4h or 1h30m, got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return float(text)
        if text and _WHOLE.fullmatch(text):
            return sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
    raise ValueError(f"expected a duration such as 90s, 15m, 4h or 1h30m, got {value!r}")


def _bounded(seconds: float, value: object) -> float:
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number of seconds, got {value!r}")
    if seconds > MAX_SECONDS:
        shown = value if len(str(value)) <= 40 else f"{str(value)[:37]}..."
        raise ValueError(f"a duration of at most 366d is accepted, got {shown!r} — check the number")
    return seconds


def format_duration(seconds: float | None) -> str:
    """Human form: `2h 05m 03s`, `4m 10.2s`, `850ms`; `-` for None. Negative values keep their sign."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if round(s * 1000) < 1000:
        return f"{sign}{s * 1000:.0f}ms"
    tenths = round(s, 1)  # round once, then split: 119.97 s is 2m 00.0s, never 1m 60.0s
    if tenths < 60:
        return f"{sign}{tenths:.1f}s"
    if tenths < 3600:
        m, rest = divmod(tenths, 60)
        if rest == int(rest):  # a whole number of seconds (a target, typically): `30m 00s`, not `30m 00.0s`
            return f"{sign}{int(m)}m {int(rest):02d}s"
        return f"{sign}{int(m)}m {rest:04.1f}s"
    h, rest = divmod(max(s, 3600.0), 3600)  # whole seconds, truncated (never rounds up to 60)
    m, rest = divmod(rest, 60)
    if h < 24:
        return f"{sign}{int(h)}h {int(m):02d}m {int(rest):02d}s"
    d, h = divmod(h, 24)
    return f"{sign}{int(d)}d {int(h):02d}h {int(m):02d}m"
