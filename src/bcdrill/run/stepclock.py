"""The RTO/RPO clock events that follow a step's successful end (DESIGN.md §3).

- `declares`: T0 = the step's end → `clock.declared` (t0 on the journal's `t` scale).
- `recovers`: `system.recovered` the first time each system recovers; rto = end − T0
  (T0 = run start while a declaring step has not ended yet).
- `rpo_of`: `system.rpo`; the newest-data timestamp comes from `Outcome.data_timestamp`,
  else the last output line. A Python check that returns `data_timestamp` measures the RPO
  of its step's `systems` even without `rpo_of` (DESIGN §3). rpo = T0 (wall clock) − that
  timestamp. A step whose timestamp cannot be read is failed by the runner before it is
  journaled (`rpo_problem`).
"""

from __future__ import annotations

from bcdrill.common.timestamps import utc_ts
from bcdrill.executors.base import Outcome
from bcdrill.record import events as ev
from bcdrill.run.session import Session
from bcdrill.scenario.model import Step
from bcdrill.verdicts.rto import parse_data_timestamp, rpo_seconds


def _data_source(outcome: Outcome) -> str | float | None:
    return outcome.data_timestamp if outcome.data_timestamp is not None else outcome.last_line


def rpo_problem(outcome: Outcome) -> str | None:
    """Why the newest-data timestamp of an `rpo_of` step cannot be read (None when it can)."""
    source = _data_source(outcome)
    if source is None:
        return "rpo_of: the step printed no newest-data timestamp (expected it on the last output line)"
    try:
        parse_data_timestamp(source)
    except ValueError as exc:
        return f"rpo_of: cannot read the newest-data timestamp from {source!r}: {exc}"
    return None


def declare_t0(session: Session, step_id: str | None, t0: float, t0_ts: str) -> None:
    clock = session.clock
    with clock.lock:
        clock.t0, clock.t0_ts = t0, t0_ts
    session.emit(ev.clock_declared(step=step_id, t0=t0, t0_ts=t0_ts))


def record_clock_events(session: Session, step: Step, outcome: Outcome, end_t: float, end_ts: str) -> None:
    """Emit the clock events due after `step` ended ok at (`end_t`, `end_ts`)."""
    if step.declares:
        declare_t0(session, step.id, round(end_t, 6), end_ts)
    clock = session.clock
    for system in step.recovers:
        with clock.lock:
            if system in clock.recovered:
                continue
            clock.recovered.add(system)
            t0 = clock.t0 if clock.t0 is not None else 0.0
        session.emit(ev.system_recovered(system=system, step=step.id, rto=round(end_t - t0, 6)))
    systems = rpo_systems(step, outcome)
    if systems:
        _record_rpo(session, step, systems, outcome, end_ts)


def rpo_systems(step: Step, outcome: Outcome) -> tuple[str, ...]:
    """The systems whose RPO this step's successful end measures."""
    if step.rpo_of:
        return step.rpo_of
    if step.kind == "check" and outcome.data_timestamp is not None:
        return step.systems
    return ()


def _record_rpo(
    session: Session, step: Step, systems: tuple[str, ...], outcome: Outcome, end_ts: str
) -> None:
    if rpo_problem(outcome) is not None:  # only in a dry run: a real run failed the step already
        return
    source = _data_source(outcome)
    assert source is not None
    data_ts = parse_data_timestamp(source)
    t0_ts = session.clock.t0_ts or end_ts  # not declared yet: measured against the step's end
    rpo = rpo_seconds(t0_ts, data_ts)
    for system in systems:
        session.emit(ev.system_rpo(system=system, step=step.id, rpo=rpo, data_timestamp=utc_ts(data_ts)))
