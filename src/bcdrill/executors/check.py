"""`check`: a read-only probe, dispatched by kind through `bcdrill.executors.probes.PROBES`.

Runs in dry runs too."""

from __future__ import annotations

from typing import Protocol, cast

from bcdrill.executors import load_entry
from bcdrill.executors.base import Executor, Outcome, StepContext
from bcdrill.scenario.model import CheckAction, Probe


class ProbeFn(Protocol):
    def __call__(self, probe: Probe, ctx: StepContext, /) -> Outcome: ...


def run_check(action: CheckAction, ctx: StepContext) -> Outcome:
    from bcdrill.executors.probes import PROBES

    probe = action.probe
    entry = PROBES.get(probe.probe)
    if entry is None:
        return Outcome("failed", f"unknown check probe {probe.probe!r}")
    fn = cast(ProbeFn, load_entry(entry))
    return fn(probe, ctx)


class CheckExecutor:
    """A check is read-only: a dry run probes too."""

    def run(self, action: CheckAction, ctx: StepContext, /) -> Outcome:
        return run_check(action, ctx)

    def dry_run(self, action: CheckAction, ctx: StepContext, /) -> Outcome:
        return run_check(action, ctx)

    def describe(self, action: CheckAction, /) -> str:
        return f"check {action.probe.probe}"


EXECUTOR: Executor[CheckAction] = CheckExecutor()
