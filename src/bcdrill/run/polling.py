"""`until: {every, within}`: poll a check until it passes or `within` has elapsed.

Polls start `every` seconds apart (measured from the start of the previous poll). All
polls belong to one attempt; each is logged. The attempt ends ok at the first passing
poll, failed when `within` runs out ("not ok after N polls in <the time they took>: <last detail>"),
timeout when the step's own timeout comes first, cancelled on cancel.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from bcdrill.common.duration import format_duration
from bcdrill.executors.base import Outcome, Status, StepContext
from bcdrill.scenario.model import Until


def poll_until(until: Until, ctx: StepContext, call: Callable[[StepContext], Outcome]) -> tuple[Outcome, int]:
    start = time.monotonic()
    window_end = start + until.within
    end = window_end if ctx.deadline is None else min(window_end, ctx.deadline)
    polls = 0
    while True:
        polls += 1
        poll_start = time.monotonic()
        outcome = call(dataclasses.replace(ctx, deadline=end))
        ctx.log.write(f"poll {polls}: {outcome.status}: {outcome.detail}\n")
        if outcome.ok or outcome.status == "cancelled":
            return outcome, polls
        next_poll = poll_start + until.every
        if next_poll >= end or time.monotonic() >= end:
            return _gave_up(ctx, outcome, polls, window_end, time.monotonic() - start), polls
        if ctx.cancel.wait(next_poll - time.monotonic()):
            return Outcome("cancelled", f"cancelled after {polls} polls"), polls


def _gave_up(ctx: StepContext, last: Outcome, polls: int, window_end: float, elapsed: float) -> Outcome:
    """The attempt's end when no poll passed. The time named is the time the polls took, as the
    step's duration shows it: the last poll may end before `within` (no room for another)."""
    status: Status
    if ctx.deadline is not None and ctx.deadline < window_end:
        status = "timeout"
        why = f"step timeout after {polls} polls"
    else:
        status = "failed"
        why = f"not ok after {polls} polls in {format_duration(elapsed)}"
    return dataclasses.replace(last, status=status, detail=f"{why}: {last.detail}")
