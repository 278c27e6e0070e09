"""Pure DAG scheduling: start every step whose needs are met, up to `parallel` at once.

No I/O and no clock: the step-runner is a callable `run(step_id) -> final status`
(ok|failed|timeout|cancelled|interrupted), called on worker threads. A step starts as
soon as its needs are met and a slot is free — there are no waves.

Semantics (DESIGN.md §2):
- A need is *satisfied* when it ended ok, when it failed with `on_failure: ignore`, when
  it was skipped because its `when` is false (a disabled step does not hold back its
  dependents), or when its run ended `skipped` (a commander skipped it in the console).
- `hold` set (a commander held the drill): nothing new starts until it is cleared;
  running steps go on.
- A need that failed/timed out with `continue` (or `abort`), or was itself skipped
  because of a failed need, makes the dependent `skipped` ("needs X which failed",
  "needs X which was skipped"), cascading.
- A step that fails with `on_failure: abort` aborts the run: nothing new starts,
  running steps finish (by their own deadlines), and every step never started is
  skipped with "not started: drill aborted".
- `interrupt` set (SIGINT/SIGTERM): nothing new starts; steps never started are left
  alone (no record: a resume starts them normally).

`idle()`, when given, is called by a worker that ended a step and finds nothing to start at
once, before it waits or stops (outside the scheduler's lock): the runner makes the journal
lines it deferred durable there (run/session.py).
"""

from __future__ import annotations

import contextlib
import heapq
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bcdrill.record.events import StepStatus
from bcdrill.scenario.model import OnFailure

FAILED: frozenset[StepStatus] = frozenset({"failed", "timeout"})  # what `on_failure` decides about
NOT_STARTED_ABORT = "not started: drill aborted"
DISABLED = "condition is false"
WAIVED: StepStatus = "skipped"  # a step's own run ended skipped: a commander skipped it; dependents go on


@dataclass(frozen=True)
class Task:
    """What the scheduler needs to know about a step."""

    id: str
    needs: tuple[str, ...] = ()
    on_failure: OnFailure = "abort"
    enabled: bool = True


@dataclass
class Schedule:
    """The outcome: the final status of every task that ended, and how the run ended."""

    statuses: dict[str, StepStatus] = field(default_factory=dict)
    aborted: bool = False
    interrupted: bool = False
    pending: list[str] = field(default_factory=list)  # never started (interrupt only)


RunFn = Callable[[str], StepStatus]
SkipFn = Callable[[str, str], None]
IdleFn = Callable[[], None]


class _Graph:
    """Who waits for whom. Every update is O(edges touched): 10,000 steps schedule in linear time."""

    def __init__(self, tasks: Iterable[Task], done: Mapping[str, bool]) -> None:
        self.tasks = {t.id: t for t in tasks}
        self.index = {tid: i for i, tid in enumerate(self.tasks)}
        self.satisfied: dict[str, bool] = dict(done)  # ended: may dependents run?
        self.why: dict[str, str] = {tid: "failed" for tid, ok in done.items() if not ok}
        self.dependents: dict[str, list[str]] = {}
        self.missing: dict[str, int] = {}  # needs of a waiting task that have not ended yet
        self.waiting: set[str] = set()  # neither started nor skipped
        self.ready: list[tuple[int, str]] = []  # heap by list order: all needs satisfied
        for tid, task in self.tasks.items():
            if tid in self.satisfied:
                continue
            self.waiting.add(tid)
            open_needs = [n for n in task.needs if n in self.tasks and n not in self.satisfied]
            for need in open_needs:
                self.dependents.setdefault(need, []).append(tid)
            self.missing[tid] = len(open_needs)

    def blocker(self, task: Task) -> str | None:
        for need in task.needs:
            if need in self.satisfied and not self.satisfied[need]:
                return f"needs {need} which {self.why.get(need, 'failed')}"
        return None

    def finish(self, task: Task, status: StepStatus) -> None:
        if status in ("ok", WAIVED) or (status in FAILED and task.on_failure == "ignore"):
            self.satisfied[task.id] = True
        else:
            self.satisfied[task.id] = False
            self.why[task.id] = "failed" if status in FAILED else f"ended {status}"

    def in_order(self, ids: Iterable[str]) -> list[str]:
        return sorted(ids, key=self.index.__getitem__)


def schedule(
    tasks: Iterable[Task],
    run: RunFn,
    *,
    parallel: int,
    skip: SkipFn,
    interrupt: threading.Event,
    done: Mapping[str, bool] | None = None,
    aborting: threading.Event | None = None,
    hold: threading.Event | None = None,
    idle: IdleFn | None = None,
) -> Schedule:
    """Run `tasks` in dependency order; `done` maps already-ended tasks to "satisfied?" (resume).

    `skip(id, reason)` is called for each skipped task, under the scheduler's lock.
    `aborting` is set when an `abort` failure stops the run, for runners that want to know.
    While `hold` is set no task starts. `idle()`: see the module's text.
    """
    return _Scheduler(tasks, run, parallel, skip, interrupt, done or {}, aborting, hold, idle).run()


class _Scheduler:
    """`parallel` worker threads; a worker that ends a step starts the next ready one itself."""

    def __init__(
        self,
        tasks: Iterable[Task],
        run: RunFn,
        parallel: int,
        skip: SkipFn,
        interrupt: threading.Event,
        done: Mapping[str, bool],
        aborting: threading.Event | None,
        hold: threading.Event | None = None,
        idle: IdleFn | None = None,
    ) -> None:
        self.graph = _Graph(tasks, done)
        self.idle = idle
        self.hold = hold or threading.Event()
        self.run_fn = run
        self.parallel = max(1, parallel)
        self.skip_fn = skip
        self.interrupt = interrupt
        self.aborting = aborting or threading.Event()
        self.cond = threading.Condition()
        self.running: set[str] = set()
        self.over = threading.Event()  # set once nothing runs and nothing more can start
        self.result = Schedule()

    def run(self) -> Schedule:
        with self.cond:
            for tid in self.graph.in_order(self.graph.waiting):
                if tid in self.graph.waiting:
                    self._examine(tid)
        workers = [
            threading.Thread(target=self._work, name=f"step-{i}", daemon=True)
            for i in range(min(self.parallel, len(self.graph.waiting)))
        ]
        for worker in workers:
            worker.start()
        with self.cond:
            if self._over():
                self.over.set()
        while not self.over.wait(0.05):  # the timeout only watches interrupt
            if self.interrupt.is_set():
                with self.cond:
                    self.cond.notify_all()
        for worker in workers:
            worker.join()
        self._settle()
        return self.result

    def _stopping(self) -> bool:
        return self.result.aborted or self.interrupt.is_set()

    def _over(self) -> bool:
        return not self.running and (self._stopping() or not self.graph.ready)

    def _work(self) -> None:
        tid = self._take(wait=True)
        while tid is not None:
            status = self._call(tid)
            with self.cond:
                self.running.discard(tid)
                self._finished(tid, status)
                self._wake()
            tid = self._take(wait=False)
            if tid is None:
                self._idle()
                tid = self._take(wait=True)

    def _take(self, *, wait: bool) -> str | None:
        """The next ready task, now marked running; None when there is none (without `wait`) or
        when nothing more can start (with `wait`: the worker stops)."""
        with self.cond:
            while self._stopping() or not self.graph.ready or self.hold.is_set():
                if not wait:
                    return None
                if self._over():
                    self.over.set()
                    self.cond.notify_all()
                    return None
                self.cond.wait(0.05)
            _, tid = heapq.heappop(self.graph.ready)
            self.graph.waiting.discard(tid)
            self.running.add(tid)
            return tid

    def _idle(self) -> None:
        if self.idle is not None:
            with contextlib.suppress(Exception):  # a bug guard, as in `_call`: a worker never dies
                self.idle()

    def _wake(self) -> None:
        """Wake only as many idle workers as there is new work for (this one takes a task itself)."""
        if self._over():
            self.over.set()  # the main thread
            self.cond.notify_all()  # every idle worker: time to stop
        elif len(self.graph.ready) > 1:
            self.cond.notify(len(self.graph.ready) - 1)

    def _call(self, tid: str) -> StepStatus:
        try:
            return self.run_fn(tid)
        except Exception:  # the step runner records its own failures; this is a bug guard
            return "failed"

    def _finished(self, tid: str, status: StepStatus) -> None:
        task = self.graph.tasks[tid]
        self.graph.finish(task, status)
        self.result.statuses[tid] = status
        if status in FAILED and task.on_failure == "abort":
            self.result.aborted = True
            self.aborting.set()
        if not self._stopping():  # after an abort or interrupt nothing is decided any more
            self._ended(tid)

    def _ended(self, first: str) -> None:
        """`first` ended (ran or was skipped): decide its waiting dependents, cascading without recursion."""
        stack = [first]
        while stack:
            tid = stack.pop()
            for dep in reversed(self.graph.dependents.get(tid, ())):
                if dep in self.graph.waiting:
                    self.graph.missing[dep] -= 1
                    if self._examine(dep):
                        stack.append(dep)

    def _examine(self, tid: str) -> bool:
        """Queue `tid` when all its needs are satisfied, or skip it; True when it was skipped."""
        graph, task = self.graph, self.graph.tasks[tid]
        reason = graph.blocker(task)
        if reason is None and graph.missing[tid] == 0 and not task.enabled:
            reason = DISABLED
        if reason is not None:
            graph.waiting.discard(tid)
            self._skip(task, reason, satisfied=reason == DISABLED)
            return True
        if graph.missing[tid] == 0:
            heapq.heappush(graph.ready, (graph.index[tid], tid))
        return False

    def _skip(self, task: Task, reason: str, *, satisfied: bool) -> None:
        self.graph.satisfied[task.id] = satisfied
        self.graph.why[task.id] = "was skipped"
        self.result.statuses[task.id] = "skipped"
        self.skip_fn(task.id, reason)

    def _settle(self) -> None:
        self.result.interrupted = self.interrupt.is_set()
        waiting = self.graph.in_order(self.graph.waiting)
        if self.result.aborted and not self.result.interrupted:
            for tid in waiting:
                self._skip(self.graph.tasks[tid], NOT_STARTED_ABORT, satisfied=False)
            self.graph.waiting.clear()
            waiting = []
        self.result.pending = waiting
