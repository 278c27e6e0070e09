"""`wait`: a duration, or until an absolute time; interruptible by cancel, bounded by the deadline."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from bcdrill.common.duration import format_duration
from bcdrill.executors.base import Executor, Outcome, StepContext, not_executed
from bcdrill.scenario.model import WaitAction


def _target(action: WaitAction) -> float:
    """The monotonic time the wait ends."""
    if action.until is not None:
        left = (action.until - datetime.now(timezone.utc)).total_seconds()
        return time.monotonic() + max(0.0, left)
    return time.monotonic() + (action.seconds or 0.0)


def describe(action: WaitAction) -> str:
    if action.until is not None:
        return f"wait until {action.until.isoformat()}"
    return f"wait {format_duration(action.seconds or 0.0)}"


def run_wait(action: WaitAction, ctx: StepContext) -> Outcome:
    target = _target(action)
    end = target if ctx.deadline is None else min(target, ctx.deadline)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        if ctx.cancel.wait(left):
            return Outcome("cancelled", f"cancelled during {describe(action)}")
    if ctx.deadline is not None and ctx.deadline < target:
        return Outcome("timeout", f"the step's timeout ends before {describe(action)} does")
    return Outcome("ok", f"waited: {describe(action)}")


class WaitExecutor:
    def run(self, action: WaitAction, ctx: StepContext, /) -> Outcome:
        return run_wait(action, ctx)

    def dry_run(self, action: WaitAction, ctx: StepContext, /) -> Outcome:
        return not_executed(describe(action))

    def describe(self, action: WaitAction, /) -> str:
        return describe(action)


EXECUTOR: Executor[WaitAction] = WaitExecutor()
