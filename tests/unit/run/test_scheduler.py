"""The scheduler with fake step runners: order, parallelism, no wave barrier, failure semantics."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from bcdrill.run.scheduler import NOT_STARTED_ABORT, Schedule, Task, schedule


class Fake:
    """A step runner: sleeps `durations[id]`, returns `results[id]` (default ok), records timing."""

    def __init__(
        self, results: Mapping[str, str] | None = None, durations: Mapping[str, float] | None = None
    ):
        self.results = dict(results or {})
        self.durations = dict(durations or {})
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.ended: list[str] = []
        self.running = 0
        self.max_running = 0
        self.skipped: dict[str, str] = {}

    def __call__(self, tid: str) -> str:
        with self.lock:
            self.started.append(tid)
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(self.durations.get(tid, 0.0))
        with self.lock:
            self.running -= 1
            self.ended.append(tid)
        return self.results.get(tid, "ok")

    def skip(self, tid: str, reason: str) -> None:
        self.skipped[tid] = reason


def go(tasks: list[Task], fake: Fake, parallel: int = 8, **kw: object) -> Schedule:
    return schedule(tasks, fake, parallel=parallel, skip=fake.skip, interrupt=threading.Event(), **kw)  # type: ignore[arg-type]


def chain(*ids: str, on_failure: str = "abort") -> list[Task]:
    return [Task(t, (ids[i - 1],) if i else (), on_failure) for i, t in enumerate(ids)]  # type: ignore[arg-type]


def test_dependency_order_is_respected() -> None:
    fake = Fake()
    tasks = [Task("a"), Task("b", ("a",)), Task("c", ("a",)), Task("d", ("b", "c"))]
    result = go(tasks, fake)
    assert fake.started[0] == "a" and fake.started[-1] == "d"
    assert fake.ended.index("b") < fake.started.index("d") and fake.ended.index("c") < fake.started.index("d")
    assert result.statuses == {"a": "ok", "b": "ok", "c": "ok", "d": "ok"}
    assert not result.aborted and not result.interrupted


def test_parallel_limit_is_never_exceeded() -> None:
    fake = Fake(durations={f"s{i}": 0.02 for i in range(12)})
    go([Task(f"s{i}") for i in range(12)], fake, parallel=3)
    assert fake.max_running == 3


def test_no_wave_barrier_a_step_starts_as_soon_as_its_need_ends() -> None:
    # long "a" and the short chain b -> c -> d: d must not wait for a
    fake = Fake(durations={"a": 0.3, "b": 0.05, "c": 0.05, "d": 0.05})
    tasks = [Task("a"), Task("b"), Task("c", ("b",)), Task("d", ("c",))]
    go(tasks, fake, parallel=2)
    assert fake.ended.index("d") < fake.ended.index("a")


def test_continue_skips_dependents_in_cascade_and_others_run() -> None:
    fake = Fake(results={"b": "failed"})
    tasks = [
        Task("a"),
        Task("b", ("a",), "continue"),
        Task("c", ("b",)),
        Task("d", ("c",)),
        Task("e", ("a",)),
    ]
    result = go(tasks, fake)
    assert fake.skipped == {"c": "needs b which failed", "d": "needs c which was skipped"}
    assert result.statuses == {"a": "ok", "b": "failed", "c": "skipped", "d": "skipped", "e": "ok"}
    assert not result.aborted


def test_timeout_counts_as_failure() -> None:
    fake = Fake(results={"a": "timeout"})
    go([Task("a", (), "continue"), Task("b", ("a",))], fake)
    assert fake.skipped == {"b": "needs a which failed"}


def test_ignore_lets_dependents_run() -> None:
    fake = Fake(results={"a": "failed"})
    result = go(chain("a", "b", on_failure="ignore"), fake)
    assert result.statuses == {"a": "failed", "b": "ok"} and not fake.skipped


def test_abort_stops_new_steps_lets_running_finish_and_skips_the_rest() -> None:
    fake = Fake(results={"a": "failed"}, durations={"a": 0.02, "slow": 0.2})
    tasks = [Task("slow"), Task("a"), Task("b", ("a",)), Task("c", ("slow",))]
    result = go(tasks, fake)
    assert result.aborted
    assert result.statuses["slow"] == "ok"  # ran to its end
    assert fake.skipped == {"b": NOT_STARTED_ABORT, "c": NOT_STARTED_ABORT}
    assert "c" not in fake.started


def test_disabled_step_is_skipped_but_its_dependents_run() -> None:
    fake = Fake()
    tasks = [Task("a"), Task("b", ("a",), enabled=False), Task("c", ("b",))]
    result = go(tasks, fake)
    assert fake.skipped == {"b": "condition is false"}
    assert result.statuses == {"a": "ok", "b": "skipped", "c": "ok"}


def test_interrupt_stops_scheduling_and_leaves_the_rest_pending() -> None:
    interrupt = threading.Event()
    fake = Fake(durations={"a": 0.1})
    threading.Timer(0.03, interrupt.set).start()
    result = schedule(chain("a", "b", "c"), fake, parallel=2, skip=fake.skip, interrupt=interrupt)
    assert result.interrupted and result.pending == ["b", "c"]
    assert fake.started == ["a"] and not fake.skipped


def test_resume_done_map_satisfies_or_blocks() -> None:
    fake = Fake()
    tasks = [Task("c", ("a",)), Task("d", ("b",)), Task("e")]
    result = go(tasks, fake, done={"a": True, "b": False})
    assert result.statuses == {"c": "ok", "d": "skipped", "e": "ok"}
    assert fake.skipped == {"d": "needs b which failed"}


def test_a_runner_exception_is_a_failed_step() -> None:
    def boom(tid: str) -> str:
        raise RuntimeError("bug")

    skipped: dict[str, str] = {}
    result = schedule(
        chain("a", "b", on_failure="continue"),
        boom,
        parallel=1,
        skip=skipped.__setitem__,
        interrupt=threading.Event(),
    )
    assert result.statuses == {"a": "failed", "b": "skipped"}
