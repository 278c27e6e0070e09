"""Where a running drill is heading: projected end of every step and recovery of every system.

Pure (no I/O, no clock of its own): the caller says what the journal shows of each step and
what time it is now (`now_t`, seconds since the run start, the journal's `t` scale). A step
that ended keeps its end; a step in flight is projected to end at `max(now, start + expect)`;
a step not started yet starts when its last need is projected to end (or now, if later) and
lasts its `expect` (0 without one). A step that ended without success (or was skipped) ends
nothing: its dependents, and the systems it recovers, have no projection (None).

The remaining critical path of a system is the chain of unfinished steps that decides its
projected recovery: from its `recovers` step back through the need that ends last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StepProgress:
    """What the journal shows of one step so far."""

    needs: tuple[str, ...] = ()
    expect: float = 0.0
    started_t: float | None = None  # start of its first attempt, once started
    ended_t: float | None = None  # its final end, once ended
    ok: bool | None = None  # None while it has not ended


@dataclass(frozen=True)
class SystemProjection:
    system: str
    projected_t: float | None  # projected `t` of recovery, None when it cannot recover any more
    path: tuple[str, ...]  # unfinished steps deciding it, first to last


def project_steps(
    order: Sequence[str], steps: Mapping[str, StepProgress], now_t: float
) -> dict[str, float | None]:
    """Projected end `t` of every step in `order` (a topological order: needs first)."""
    end: dict[str, float | None] = {}
    for sid in order:
        step = steps[sid]
        if step.ok is not None:
            end[sid] = step.ended_t if step.ok else None
            continue
        if step.started_t is not None:
            end[sid] = max(now_t, step.started_t + step.expect)
            continue
        begin, blocked = now_t, False
        for need in step.needs:
            need_end = end.get(need, now_t)  # an unknown need: the loader refuses those
            if need_end is None:
                blocked = True
                break
            begin = max(begin, need_end)
        end[sid] = None if blocked else begin + step.expect
    return end


def critical_chain(
    last: str, steps: Mapping[str, StepProgress], ends: Mapping[str, float | None]
) -> tuple[str, ...]:
    """The unfinished steps that decide when `last` ends, first to last."""
    chain: list[str] = []
    node: str | None = last
    while node is not None and steps[node].ok is None:
        chain.append(node)
        if steps[node].started_t is not None:
            break
        best: str | None = None
        for need in steps[node].needs:
            need_end = ends.get(need)
            if need_end is None or need not in steps:
                continue
            if best is None or need_end > (ends[best] or 0.0):
                best = need
        node = best
    return tuple(reversed(chain))


def project_systems(
    recovers: Mapping[str, str],
    steps: Mapping[str, StepProgress],
    ends: Mapping[str, float | None],
) -> dict[str, SystemProjection]:
    """Projected recovery of each system, from the step that `recovers` it (system -> step id)."""
    out = {}
    for system, step_id in recovers.items():
        if step_id not in steps:
            out[system] = SystemProjection(system, None, ())
            continue
        out[system] = SystemProjection(system, ends.get(step_id), critical_chain(step_id, steps, ends))
    return out
