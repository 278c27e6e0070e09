"""Pure DAG scheduling: start every step whose needs are met, up to `parallel` at once.

No I/O and no clock: the step-runner is a callable `run(step_id) -> final status`
(ok|failed|timeout|cancelled|interrupted), called on worker threads. A step starts as
soon as its needs are met and a slot is free — there are no waves.

Semantics (DESIGN.md §2):
- A need is *satisfied* when it ended ok, when it failed with `on_failure: ignore`, or
  when it was skipped because its `when` is false (a disabled step does not hold back
  its dependents).
- A need that failed/timed out with `continue` (or `abort`), or was itself skipped
  because of a failed need, makes the dependent `skipped` ("needs X which failed",
  "needs X which was skipped"), cascading.
- A step that fails with `on_failure: abort` aborts the run: nothing new starts,
  running steps finish (by their own deadlines), and every step never started is
  skipped with "not started: drill aborted".
- `interrupt` set (SIGINT/SIGTERM): nothing new starts; steps never started are left
  alone (no record: a resume starts them normally).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from bcdrill.model import OnFailure

FAILED = frozenset({"failed", "timeout"})
NOT_STARTED_ABORT = "not started: drill aborted"
DISABLED = "condition is false"


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

    statuses: dict[str, str] = field(default_factory=dict)
    aborted: bool = False
    interrupted: bool = False
    pending: list[str] = field(default_factory=list)  # never started (interrupt only)


RunFn = Callable[[str], str]
SkipFn = Callable[[str, str], None]


class _State:
    def __init__(self, tasks: Iterable[Task], done: Mapping[str, bool]) -> None:
        self.tasks = {t.id: t for t in tasks}
        self.order = list(self.tasks)
        self.satisfied: dict[str, bool] = dict(done)  # ended: may dependents run?
        self.why: dict[str, str] = {}  # ended without satisfying: "failed" | "was skipped"
        for tid, ok in done.items():
            if not ok:
                self.why[tid] = "failed"
        self.waiting = [tid for tid in self.order if tid not in self.satisfied]

    def blocker(self, task: Task) -> str | None:
        for need in task.needs:
            if need in self.satisfied and not self.satisfied[need]:
                return f"needs {need} which {self.why.get(need, 'failed')}"
        return None

    def ready(self, task: Task) -> bool:
        # a need outside this schedule and not ended before (cannot happen after validation) is ignored
        return all(self.satisfied.get(need, need not in self.tasks) for need in task.needs)

    def finish(self, task: Task, status: str) -> None:
        if status == "ok" or (status in FAILED and task.on_failure == "ignore"):
            self.satisfied[task.id] = True
        else:
            self.satisfied[task.id] = False
            self.why[task.id] = "failed" if status in FAILED else f"ended {status}"


def schedule(
    tasks: Iterable[Task],
    run: RunFn,
    *,
    parallel: int,
    skip: SkipFn,
    interrupt: threading.Event,
    done: Mapping[str, bool] | None = None,
    aborting: threading.Event | None = None,
) -> Schedule:
    """Run `tasks` in dependency order; `done` maps already-ended tasks to "satisfied?" (resume).

    `skip(id, reason)` is called (on the calling thread) for each skipped task.
    `aborting` is set when an `abort` failure stops the run, for runners that want to know.
    """
    return _Scheduler(tasks, run, parallel, skip, interrupt, done or {}, aborting).run()


class _Scheduler:
    def __init__(
        self,
        tasks: Iterable[Task],
        run: RunFn,
        parallel: int,
        skip: SkipFn,
        interrupt: threading.Event,
        done: Mapping[str, bool],
        aborting: threading.Event | None,
    ) -> None:
        self.state = _State(tasks, done)
        self.run_fn = run
        self.parallel = max(1, parallel)
        self.skip_fn = skip
        self.interrupt = interrupt
        self.aborting = aborting or threading.Event()
        self.cond = threading.Condition()
        self.finished: list[tuple[str, str]] = []
        self.running: set[str] = set()
        self.result = Schedule()

    def run(self) -> Schedule:
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="step") as pool:
            self._loop(pool)
        self._settle()
        return self.result

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while True:
            with self.cond:
                self._collect()
                stopping = self.result.aborted or self.interrupt.is_set()
                if not stopping:
                    self._start_ready(pool)
                if not self.running:  # nothing in flight and nothing startable: done (or stopped)
                    return
                if not self.finished:
                    self.cond.wait(0.05)  # completions notify at once; the timeout only watches interrupt

    def _start_ready(self, pool: ThreadPoolExecutor) -> None:
        progressed = True
        while progressed:  # skipping a task can unblock or block others: repeat until stable
            progressed = False
            for tid in list(self.state.waiting):
                if len(self.running) >= self.parallel:
                    return
                progressed |= self._consider(tid, pool)

    def _consider(self, tid: str, pool: ThreadPoolExecutor) -> bool:
        task = self.state.tasks[tid]
        reason = self.state.blocker(task)
        if reason is None and not task.enabled and self.state.ready(task):
            reason = DISABLED
        if reason is not None:
            self.state.waiting.remove(tid)
            self._skip(task, reason, satisfied=reason == DISABLED)
            return True
        if not self.state.ready(task):
            return False
        self.state.waiting.remove(tid)
        self.running.add(tid)
        future = pool.submit(self.run_fn, tid)
        future.add_done_callback(lambda f, tid=tid: self._done(tid, f))  # type: ignore[misc]
        return True

    def _skip(self, task: Task, reason: str, *, satisfied: bool) -> None:
        self.state.satisfied[task.id] = satisfied
        self.state.why[task.id] = "was skipped"
        self.result.statuses[task.id] = "skipped"
        self.skip_fn(task.id, reason)

    def _done(self, tid: str, future: Future[str]) -> None:
        exc = future.exception()
        status = "failed" if exc is not None else future.result()
        with self.cond:
            self.finished.append((tid, status))
            self.cond.notify()

    def _collect(self) -> None:
        for tid, status in self.finished:
            task = self.state.tasks[tid]
            self.running.discard(tid)
            self.state.finish(task, status)
            self.result.statuses[tid] = status
            if status in FAILED and task.on_failure == "abort":
                self.result.aborted = True
                self.aborting.set()
        self.finished.clear()

    def _settle(self) -> None:
        self.result.interrupted = self.interrupt.is_set()
        if self.result.aborted and not self.result.interrupted:
            for tid in list(self.state.waiting):
                self._skip(self.state.tasks[tid], NOT_STARTED_ABORT, satisfied=False)
            self.state.waiting.clear()
        self.result.pending = list(self.state.waiting)
