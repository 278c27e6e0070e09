"""The step graph, pure (no I/O): order, cycles, earliest times, critical path, levels.

Nodes are anything with an `id` and `needs` (a `Step`); an edge goes from a step to each
step it needs. Needs naming unknown steps are ignored here (the loader reports them).
Everything is O(n log n) or better, so 10,000-step scenarios are cheap.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class Node(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def needs(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Schedule:
    """Earliest start/finish of every step with unlimited parallelism, and the critical path."""

    start: dict[str, float]
    finish: dict[str, float]
    critical_path: list[str]
    length: float


def _graph(steps: Sequence[Node]) -> tuple[dict[str, int], dict[str, list[str]]]:
    index = {s.id: i for i, s in enumerate(steps)}
    needs = {s.id: [n for n in s.needs if n in index] for s in steps}
    return index, needs


def topological_order(steps: Sequence[Node]) -> list[str]:
    """Step ids so that every step comes after the steps it needs; ties keep list order.

    Steps on or behind a cycle are left out (use `find_cycles` to explain them).
    """
    index, needs = _graph(steps)
    waiting = {sid: len(set(ns)) for sid, ns in needs.items()}
    dependents: dict[str, list[str]] = {sid: [] for sid in index}
    for sid, ns in needs.items():
        for n in set(ns):
            dependents[n].append(sid)
    ready = [(index[sid], sid) for sid, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, sid = heapq.heappop(ready)
        order.append(sid)
        for dep in dependents[sid]:
            waiting[dep] -= 1
            if waiting[dep] == 0:
                heapq.heappush(ready, (index[dep], dep))
    return order


def _strongly_connected(needs: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on long chains)."""
    low: dict[str, int] = {}
    num: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in needs:
        if root in num:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                num[node] = low[node] = len(num)
                stack.append(node)
                on_stack.add(node)
            succ = needs[node]
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in num:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], num[nxt])
                continue
            if low[node] == num[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                found.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _cycle_through(start: str, members: set[str], needs: dict[str, list[str]]) -> list[str]:
    """Shortest path start -> ... -> start inside one strongly connected component."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for n in needs[node]:
                if n == start:
                    chain = [node]
                    while chain[-1] != start:
                        chain.append(parent[chain[-1]])
                    return [*reversed(chain), start]
                if n in members and n not in parent:
                    parent[n] = node
                    nxt_frontier.append(n)
        frontier = nxt_frontier
    return [start, start]  # pragma: no cover - a component always has a cycle


def find_cycles(steps: Sequence[Node]) -> list[list[str]]:
    """One cycle path per cyclic component, e.g. ['a', 'b', 'a'] (a needs b needs a), in list order."""
    index, needs = _graph(steps)
    cycles = []
    for comp in _strongly_connected(needs):
        if len(comp) == 1 and comp[0] not in needs[comp[0]]:
            continue
        start = min(comp, key=index.__getitem__)
        cycles.append(_cycle_through(start, set(comp), needs))
    return sorted(cycles, key=lambda c: index[c[0]])


def find_cycle(steps: Sequence[Node]) -> list[str] | None:
    """The first cycle path (see `find_cycles`), or None when the graph is acyclic."""
    cycles = find_cycles(steps)
    return cycles[0] if cycles else None


def format_cycle(path: Sequence[str]) -> str:
    return " -> ".join(path)


def schedule(steps: Sequence[Node], durations: Mapping[str, float]) -> Schedule:
    """Earliest start/finish per step (unlimited parallelism) and the longest (critical) path."""
    index, needs = _graph(steps)
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for sid in topological_order(steps):
        best: str | None = None
        for n in needs[sid]:
            if best is None or finish[n] > finish[best]:
                best = n
        start[sid] = finish[best] if best is not None else 0.0
        finish[sid] = start[sid] + durations.get(sid, 0.0)
        via[sid] = best
    if not finish:
        return Schedule(start, finish, [], 0.0)
    end = max(finish, key=lambda sid: (finish[sid], index[sid]))
    path: list[str] = []
    node: str | None = end
    while node is not None:
        path.append(node)
        node = via[node]
    return Schedule(start, finish, path[::-1], finish[end])


def critical_path(steps: Sequence[Node], durations: Mapping[str, float]) -> tuple[list[str], float]:
    """(ids on the longest path through the graph, its length in seconds)."""
    result = schedule(steps, durations)
    return result.critical_path, result.length


def levels(steps: Sequence[Node]) -> dict[str, int]:
    """Depth of every step: 0 for steps needing nothing, else 1 + the deepest need."""
    _, needs = _graph(steps)
    depth: dict[str, int] = {}
    for sid in topological_order(steps):
        depth[sid] = 1 + max((depth[n] for n in needs[sid]), default=-1)
    return depth


def width(steps: Sequence[Node]) -> int:
    """The largest number of steps on one level (how many could run side by side)."""
    counts: dict[int, int] = {}
    for depth in levels(steps).values():
        counts[depth] = counts.get(depth, 0) + 1
    return max(counts.values(), default=0)
