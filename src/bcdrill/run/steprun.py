"""One step, all its attempts: retries, `until` polling, timeouts, and the RTO/RPO events.

The runner owns the clock: an attempt's duration is `time.monotonic()` around the
executor call; `started_t` is the journal's `t` at that same instant. Each attempt is
one `step.started` and one `step.finished`. After the final `ok` of a step the clock
events follow: `clock.declared` (declares), `system.recovered` (recovers, first time
only; rto = the step's end − T0) and `system.rpo` (rpo_of).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from typing import Any, Literal

from bcdrill.common.errors import JournalWriteError
from bcdrill.common.timestamps import utc_ts
from bcdrill.executors import get_executor
from bcdrill.executors.base import AckEvent, AwxJobEvent, CommandEvent, Outcome, StepContext, TaskEvent
from bcdrill.record import events as ev
from bcdrill.record.events import StepFinishedPayload, StepStatus
from bcdrill.run.rundir import StepLog
from bcdrill.run.scheduler import FAILED
from bcdrill.run.session import Session
from bcdrill.run.stepclock import record_clock_events, rpo_problem, rpo_systems
from bcdrill.scenario.model import Step


@dataclass(frozen=True)
class Timing:
    started_t: float
    duration: float
    end_t: float
    end_ts: str


class _JournalEvents:
    """What executors emit, journaled as the typed events of record/events.py."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def ansible_task(self, task: TaskEvent, /) -> None:
        self.s.emit(ev.ansible_task(**task))

    def manual_acknowledged(self, ack: AckEvent, /) -> None:
        self.s.emit(ev.manual_acknowledged(**ack))

    def commander_action(self, command: CommandEvent, /) -> None:
        self.s.emit(ev.commander_action(**command))

    def awx_job(self, job: AwxJobEvent, /) -> None:
        self.s.emit(ev.awx_job(**job))


class StepRunner:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._actions: dict[str, dict[str, Any]] = {}

    def _action(self, step: Step) -> dict[str, Any]:
        """The rendered action as journaled (computed once per step: retries and polls reuse it)."""
        if step.id not in self._actions:
            self._actions[step.id] = dataclasses.asdict(step.action)
        return self._actions[step.id]

    def run(self, step: Step, *, rollback: bool = False) -> StepStatus:
        """Every attempt of `step`; the final status. A bug is logged to drill.log, never silent."""
        try:
            return self._run(step, rollback)
        except JournalWriteError:  # the run stops; the CLI says why once
            return "interrupted"
        except Exception as exc:
            self.s.log_error(f"internal error in step {step.id}")
            print(
                f"drill: internal error in step {step.id}: {type(exc).__name__}: {exc} "
                f"(traceback in {self.s.run_dir / 'drill.log'})",
                file=sys.stderr,
            )
            raise
        finally:
            self._actions.pop(step.id, None)  # kept for the step's attempts only, not the whole run

    def _run(self, step: Step, rollback: bool) -> StepStatus:
        attempts = step.retries + 1
        for n in range(1, attempts + 1):
            status, _outcome = self._attempt(step, rollback, last=n == attempts)
            if status != "retry":
                return status
            self.s.cancel.wait(step.retry_delay)
            if self.s.interrupted:  # the last record says a retry follows: resume will retry
                return "interrupted"
        return "failed"  # not reached: the last attempt is always final

    def _attempt(
        self, step: Step, rollback: bool, *, last: bool
    ) -> tuple[StepStatus | Literal["retry"], Outcome]:
        attempt = self.s.next_attempt(step.id)
        started_t = self.s.journal.now_t()
        try:
            header = f"--- {step.id} attempt {attempt} started {utc_ts()} ---\n"
            log = StepLog(self.s.run_dir, step.id, self.s.redactor, header)
        except OSError as exc:  # e.g. the file system is full: the step fails, visibly, and the run goes on
            self.s.log_error(f"cannot open the log of step {step.id}")
            self.s.landed(step.id)
            outcome = Outcome("failed", f"cannot write the step's log: {exc}")
            self.s.emit(
                ev.step_finished(
                    step=step.id,
                    attempt=attempt,
                    status="failed",
                    duration=0.0,
                    exit_code=None,
                    detail=outcome.detail,
                    log=None,
                    log_sha256=None,
                    started_t=started_t,
                    final=True,
                    rollback=rollback,
                )
            )
            return "failed", outcome
        try:
            self.s.emit(
                ev.step_started(
                    step=step.id,
                    attempt=attempt,
                    kind=step.kind,
                    action=self._action(step),
                    rollback=rollback,
                )
            )
            outcome, timing, polls = self._execute(step, attempt, log)
            status = self._status(step, outcome, timing)
            if status[0] in FAILED and not last and not self.s.aborting.is_set():
                self._finish(step, attempt, log, status, outcome, timing, polls, rollback, final=False)
                return "retry", outcome
            self._finish(step, attempt, log, status, outcome, timing, polls, rollback, final=True)
        finally:
            log.close()
            self.s.landed(step.id)
        if status[0] == "ok" and not rollback:
            record_clock_events(self.s, step, outcome, timing.end_t, timing.end_ts)
        return status[0], outcome

    def _execute(self, step: Step, attempt: int, log: StepLog) -> tuple[Outcome, Timing, int | None]:
        mono = time.monotonic()
        started_t = self.s.journal.now_t()
        deadline = mono + step.timeout if step.timeout is not None else None
        ctx = StepContext(
            step=step,
            scenario=self.s.scn,
            run_dir=self.s.run_dir,
            attempt=attempt,
            deadline=deadline,
            cancel=self.s.cancel,
            log=log,
            emit=_JournalEvents(self.s),
            options=self.s.options,
            resources=self.s.resources,
            inbox=self.s.inbox,
        )
        polls: int | None = None
        if step.until is not None and step.kind == "check":
            from bcdrill.run.polling import poll_until

            outcome, polls = poll_until(step.until, ctx, self._call)
        else:
            outcome = self._call(ctx)
        duration = time.monotonic() - mono
        return outcome, Timing(started_t, duration, started_t + duration, utc_ts()), polls

    def _call(self, ctx: StepContext) -> Outcome:
        """The executor (its dry run in a dry run); an exception is a bug, recorded as a failure."""
        step = ctx.step
        try:
            executor = get_executor(step.kind)
            if self.s.options.dry_run:
                if step.dry_run == "skip":  # e.g. a check that DR serves: nothing was switched over
                    return Outcome("ok", "dry run: not run (dry_run: skip)")
                return executor.dry_run(step.action, ctx)
            return executor.run(step.action, ctx)
        except Exception as exc:
            self.s.log_error(f"executor {step.kind} raised in step {step.id}")
            return Outcome("failed", f"internal error: {type(exc).__name__}: {exc}")

    def _status(self, step: Step, outcome: Outcome, timing: Timing) -> tuple[StepStatus, str]:
        if outcome.status == "cancelled" and self.s.interrupted:
            return "interrupted", f"interrupted ({self.s.interrupt_reason}): {outcome.detail}"
        if outcome.ok and rpo_systems(step, outcome):
            problem = rpo_problem(outcome)
            if problem is not None:
                if self.s.options.dry_run:  # nothing ran, so nothing was measured: RPO stays unmeasured
                    return outcome.status, f"{outcome.detail} (RPO not measured in a dry run)"
                return "failed", problem
        return outcome.status, outcome.detail

    def _finish(
        self,
        step: Step,
        attempt: int,
        log: StepLog,
        status: tuple[StepStatus, str],
        outcome: Outcome,
        timing: Timing,
        polls: int | None,
        rollback: bool,
        *,
        final: bool,
    ) -> None:
        log.footer(f"--- {step.id} attempt {attempt} {status[0]}: {status[1]} ---\n", force=status[0] != "ok")
        digest = log.sha256()
        finished: StepFinishedPayload = {
            "step": step.id,
            "attempt": attempt,
            "status": status[0],
            "duration": round(timing.duration, 6),
            "exit_code": outcome.exit_code,
            "detail": status[1],
            "log": log.relpath if digest is not None else None,
            "log_sha256": digest,
            "started_t": timing.started_t,
            "final": final,
            "rollback": rollback,
        }
        if polls is not None:
            finished["polls"] = polls
        if outcome.status == "skipped":  # a commander skipped it (the console): its dependents go on
            finished["waived"] = True
        if outcome.survivors:  # left running on purpose (`nohup server &`): allowed, and on record
            finished["survivors"] = [{"pid": pid, "cmd": cmd} for pid, cmd in outcome.survivors]
        # the final end's sync is shared with the next line made durable (a step.started: the step
        # this worker starts next) — nothing acts on it before then (run/session.py)
        self.s.emit(ev.step_finished(**finished), defer=final)
