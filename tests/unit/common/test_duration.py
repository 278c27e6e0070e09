"""Durations as written in scenarios, and their human form."""

from __future__ import annotations

import pytest

from bcdrill.common.duration import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("500ms", 0.5),
        ("90s", 90),
        ("15m", 900),
        ("4h", 14400),
        ("1h30m", 5400),
        ("1d", 86400),
        (45, 45),
        (1.5, 1.5),
        ("120", 120),
        (" 2m 30s ", 150),
        ("0", 0),
    ],
)
def test_parse(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["soon", "4 hours", "", "1x", True, None, [1], -1, "1h-5m"])
def test_parse_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0.85, "850ms"),
        (12.34, "12.3s"),
        (250.2, "4m 10.2s"),
        (7503, "2h 05m 03s"),
        (90000, "1d 01h 00m"),
        (-300, "-5m 00s"),
        (0.9996, "1.0s"),  # rounding never shows 1000ms, 60.0s or 1m 60.0s
        (59.96, "1m 00s"),
        (119.97, "2m 00s"),
        (3599.97, "1h 00m 00s"),
    ],
)
def test_format(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text
