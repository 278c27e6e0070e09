"""`check`: a read-only probe, dispatched by kind through `bcdrill.executors.probes.PROBES`.

Runs in dry runs too."""

from __future__ import annotations

from typing import Protocol, cast

from bcdrill.executors import load_entry
from bcdrill.executors.base import Outcome, StepContext
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
