"""The pure step graph: order, cycles, critical path, levels, width."""

from __future__ import annotations

from dataclasses import dataclass

from bcdrill.common import dag


@dataclass(frozen=True)
class N:
    id: str
    needs: tuple[str, ...] = ()


DIAMOND = [N("a"), N("b", ("a",)), N("c", ("a",)), N("d", ("b", "c"))]


def test_topological_order_is_stable_list_order() -> None:
    steps = [N("x", ("z",)), N("y"), N("z")]
    assert dag.topological_order(steps) == ["y", "z", "x"]
    assert dag.topological_order(DIAMOND) == ["a", "b", "c", "d"]


def test_unknown_needs_are_ignored() -> None:
    assert dag.topological_order([N("a", ("ghost",))]) == ["a"]


def test_find_cycle_returns_the_path() -> None:
    steps = [N("a", ("c",)), N("b", ("a",)), N("c", ("b",)), N("e")]
    assert dag.find_cycle(steps) == ["a", "c", "b", "a"]
    assert dag.format_cycle(["a", "c", "b", "a"]) == "a -> c -> b -> a"
    assert dag.topological_order(steps) == ["e"]


def test_find_cycles_one_per_component_and_self_loops() -> None:
    steps = [N("a", ("b",)), N("b", ("a",)), N("c", ("c",)), N("d", ("a",))]
    assert dag.find_cycles(steps) == [["a", "b", "a"], ["c", "c"]]
    assert dag.find_cycle(DIAMOND) is None


def test_critical_path_takes_the_longest_branch() -> None:
    path, length = dag.critical_path(DIAMOND, {"a": 1, "b": 5, "c": 2, "d": 1})
    assert (path, length) == (["a", "b", "d"], 7.0)
    path, _ = dag.critical_path(DIAMOND, {"a": 1, "b": 1, "c": 2, "d": 1})
    assert path == ["a", "c", "d"]


def test_schedule_earliest_start_and_finish() -> None:
    sched = dag.schedule(DIAMOND, {"a": 1, "b": 5, "c": 2})
    assert sched.start == {"a": 0, "b": 1, "c": 1, "d": 6}
    assert sched.finish == {"a": 1, "b": 6, "c": 3, "d": 6}


def test_levels_and_width() -> None:
    assert dag.levels(DIAMOND) == {"a": 0, "b": 1, "c": 1, "d": 2}
    assert dag.width(DIAMOND) == 2
    assert dag.width([N(str(i)) for i in range(5)]) == 5
    assert dag.width([]) == 0


def test_long_chain_and_big_cycle_do_not_recurse() -> None:
    n = 10_000
    chain = [N(f"s{i}", (f"s{i - 1}",) if i else ()) for i in range(n)]
    path, length = dag.critical_path(chain, {s.id: 1.0 for s in chain})
    assert len(path) == n and length == n
    ring = [N("s0", (f"s{n - 1}",)), *chain[1:]]
    cycle = dag.find_cycle(ring)
    assert cycle is not None and len(cycle) == n + 1 and cycle[0] == cycle[-1] == "s0"
