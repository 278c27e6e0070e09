"""Durations as written in scenarios: `500ms`, `90s`, `15m`, `4h`, `1h30m`, `1d`, or seconds."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")


def parse_duration(value: object) -> float:
    """Seconds in `value`; raises ValueError with a message fit for a user."""
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


def format_duration(seconds: float | None) -> str:
    """Human form: `2h 05m 03s`, `4m 10.2s`, `850ms`; `-` for None. Negative values keep their sign."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 1:
        return f"{sign}{s * 1000:.0f}ms"
    if s < 60:
        return f"{sign}{s:.1f}s"
    if s < 3600:
        m, rest = divmod(s, 60)
        return f"{sign}{int(m)}m {rest:04.1f}s"
    h, rest = divmod(s, 3600)
    m, rest = divmod(rest, 60)
    if h < 24:
        return f"{sign}{int(h)}h {int(m):02d}m {int(rest):02d}s"
    d, h = divmod(h, 24)
    return f"{sign}{int(d)}d {int(h)}h {int(m):02d}m"
