"""RTO and RPO evaluation: a pure function of the journal (DESIGN.md §3).

T0 is the `clock.declared` event (`t0`, `t0_ts`), or the run start (t = 0, the `run.started`
ts) when there is none. RTO achieved comes from the first `system.recovered` event of each
system (`rto`, seconds since T0 on the monotonic clock); a system never recovered has no RTO
— a breach, never a number. RPO comes from the first `system.rpo` event of each system (the
first measurement after T0 is the one that tells how much data the DR side had; later ones
may see data written at DR). A target is met when achieved <= target; margin = target - achieved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from bcdrill.record.events import (
    CLOCK_DECLARED,
    RUN_STARTED,
    SYSTEM_RECOVERED,
    SYSTEM_RPO,
    Record,
    RunStarted,
    SystemRecovered,
    SystemRpo,
)
from bcdrill.record.snapshot import SystemSpec

RpoStatus = Literal["met", "missed", "unmeasured", "no-target"]
RtoStatus = Literal["met", "missed", "not-achieved", "no-target"]

_EPOCH = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_MAX_EPOCH = 1e11  # later than year 5000: surely milliseconds or nanoseconds, not seconds


@dataclass(frozen=True)
class SystemResult:
    id: str
    title: str
    tier: int | None
    rto_target: float | None
    rto_achieved: float | None
    rto_met: bool | None  # None: recovered but there is no target
    rto_margin: float | None
    rpo_target: float | None
    rpo_achieved: float | None
    rpo_met: bool | None  # None: no target
    rpo_margin: float | None
    rpo_status: RpoStatus
    recovered_by: str | None
    recovered_ts: str | None
    data_timestamp: str | None
    rpo_by: str | None = None

    @property
    def rto_status(self) -> RtoStatus:
        if self.rto_achieved is None:
            return "not-achieved"
        if self.rto_target is None:
            return "no-target"
        return "met" if self.rto_met else "missed"


@dataclass(frozen=True)
class Evaluation:
    t0: float | None  # `t` of T0 (seconds since run start)
    t0_ts: str | None  # UTC ISO-8601
    systems: dict[str, SystemResult]
    t0_step: str | None = None  # the declaring step, None when T0 is the run start

    @property
    def all_met(self) -> bool:
        """Every target met: no RTO/RPO breach, nothing unrecovered or unmeasured."""
        return all(s.rto_met is not False and s.rpo_met is not False for s in self.systems.values())


def find_t0(events: Sequence[Record]) -> tuple[float | None, str | None, str | None]:
    """(t0, t0_ts, declaring step) of the run; the run start when nothing was declared."""
    start: RunStarted | None = None
    for ev in events:
        if ev["event"] == CLOCK_DECLARED:
            return float(ev["t0"]), ev.get("t0_ts"), ev.get("step")
        if start is None and ev["event"] == RUN_STARTED:
            start = ev
    if start is None:
        return None, None, None
    return 0.0, start["ts"], None


def _firsts(events: Sequence[Record]) -> tuple[dict[str, SystemRecovered], dict[str, SystemRpo]]:
    """The first system.recovered and the first system.rpo of each system."""
    recovered: dict[str, SystemRecovered] = {}
    rpo: dict[str, SystemRpo] = {}
    for ev in events:
        if ev["event"] == SYSTEM_RECOVERED:
            recovered.setdefault(ev["system"], ev)
        elif ev["event"] == SYSTEM_RPO:
            rpo.setdefault(ev["system"], ev)
    return recovered, rpo


def _met(target: float | None, achieved: float | None) -> tuple[bool | None, float | None]:
    if target is None:
        return None, None
    if achieved is None:
        return False, None
    return achieved <= target, round(target - achieved, 6)


def system_specs(events: Sequence[Record]) -> dict[str, SystemSpec]:
    """The systems of the scenario snapshot in `run.started` (empty when there is none)."""
    for ev in events:
        if ev["event"] == RUN_STARTED:
            systems = (ev.get("snapshot") or {}).get("systems") or {}
            return dict(systems)
    return {}


def _result(sid: str, spec: SystemSpec, rec: SystemRecovered | None, rpo: SystemRpo | None) -> SystemResult:
    rto_target, rpo_target = spec.get("rto"), spec.get("rpo")
    rto = float(rec["rto"]) if rec is not None and rec.get("rto") is not None else None
    rto_met, rto_margin = _met(rto_target, rto)
    if rto is None:
        rto_met = False
    rpo_value = float(rpo["rpo"]) if rpo is not None and rpo.get("rpo") is not None else None
    rpo_met, rpo_margin = _met(rpo_target, rpo_value)
    status: RpoStatus
    if rpo_target is None:
        status = "no-target"
    elif rpo_value is None:
        status = "unmeasured"
    else:
        status = "met" if rpo_met else "missed"
    return SystemResult(
        id=sid,
        title=spec.get("title") or sid,
        tier=spec.get("tier"),
        rto_target=rto_target,
        rto_achieved=rto,
        rto_met=rto_met,
        rto_margin=rto_margin,
        rpo_target=rpo_target,
        rpo_achieved=rpo_value,
        rpo_met=rpo_met,
        rpo_margin=rpo_margin,
        rpo_status=status,
        recovered_by=rec.get("step") if rec else None,
        recovered_ts=rec.get("ts") if rec else None,
        data_timestamp=rpo.get("data_timestamp") if rpo else None,
        rpo_by=rpo.get("step") if rpo else None,
    )


def evaluate(events: Sequence[Record], specs: Mapping[str, SystemSpec] | None = None) -> Evaluation:
    """RTO/RPO of every system of the scenario (and of any system the events name). `specs`: the
    scenario's systems when the caller has them (else run.started's snapshot gives them)."""
    t0, t0_ts, t0_step = find_t0(events)
    specs = system_specs(events) if specs is None else specs
    recovered, rpos = _firsts(events)
    ids = list(specs) + [s for s in [*recovered, *rpos] if s not in specs]
    systems = {
        sid: _result(sid, specs.get(sid) or SystemSpec(id=sid), recovered.get(sid), rpos.get(sid))
        for sid in dict.fromkeys(ids)
    }
    return Evaluation(t0=t0, t0_ts=t0_ts, systems=systems, t0_step=t0_step)


def parse_data_timestamp(value: str | float) -> datetime:
    """The aware UTC datetime of a newest-data timestamp reported by a step or a check.

    Accepts ISO-8601 with `Z` or an offset (a time without one is taken as UTC), or Unix epoch
    seconds as a number or numeric text. ValueError says what was expected.
    """
    expected = (
        "expected ISO-8601 such as 2026-05-01T08:30:00Z / 2026-05-01T16:30:00+08:00, or Unix epoch seconds"
    )
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a data timestamp: {value!r} ({expected})")
    text = value.strip() if isinstance(value, str) else None
    if text is None or _EPOCH.fullmatch(text):
        return _from_epoch(float(value), value, expected)
    iso = text[:-1] + "+00:00" if text[-1:] in "Zz" and text else text
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"not a data timestamp: {value!r} ({expected})") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def _from_epoch(seconds: float, value: object, expected: str) -> datetime:
    if not math.isfinite(seconds):
        raise ValueError(f"not a data timestamp: {value!r} ({expected})")
    if abs(seconds) >= _MAX_EPOCH:
        raise ValueError(f"epoch timestamp {value!r} is too large: give seconds, not milliseconds")
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def rpo_seconds(t0_ts: str, data_ts: datetime) -> float:
    """RPO = T0 - newest data timestamp, in seconds (negative when the data is newer than T0)."""
    t0 = parse_data_timestamp(t0_ts)
    return round((t0 - data_ts.astimezone(timezone.utc)).total_seconds(), 6)
