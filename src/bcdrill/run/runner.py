"""run_scenario / resume_run: the run directory, the lock, the journal, the schedule, the end.

One runner per run directory (`lock.RunLock`). The journal is the only record: the
runner appends, listeners follow. SIGINT/SIGTERM interrupt the run: in-flight steps are
cancelled (process groups killed) and journaled `interrupted`, nothing new starts,
`run.interrupted` and `run.finished` (interrupted, exit 3) are written, and the run can
be resumed. An `abort` failure runs `rollback:` as a sequence and ends the run
`aborted` (exit 3). Otherwise the run is `complete`: exit 0 when every step succeeded (or
its failure was ignored) and every target is met, else 1.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import signal
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from bcdrill import __version__
from bcdrill.common.errors import JournalWriteError, UsageError
from bcdrill.common.redact import Redactor
from bcdrill.executors import preload
from bcdrill.executors.base import RunOptions
from bcdrill.record import events as ev
from bcdrill.record.events import RunStartedPayload
from bcdrill.record.journal import Journal
from bcdrill.record.snapshot import scenario_snapshot
from bcdrill.run.lock import RunLock
from bcdrill.run.request import RunRequest, RunResult
from bcdrill.run.rundir import JOURNAL, create_run_dir
from bcdrill.run.scheduler import FAILED, Schedule, Task, schedule
from bcdrill.run.session import Session, close_listeners
from bcdrill.run.stepclock import declare_t0
from bcdrill.run.steprun import StepRunner
from bcdrill.scenario.model import Scenario, Step

_SECRET_NAME = re.compile(r"password|secret|token|key", re.IGNORECASE)


def check_safety(scn: Scenario, options: RunOptions, confirm_production: str | None) -> None:
    """The production guard (DESIGN.md §6); raises UsageError before anything is created."""
    if scn.environment != "production":
        return
    if confirm_production != scn.name:
        raise UsageError(
            f"{scn.path}: scenario {scn.name!r} targets production — "
            f"re-run with --confirm-production {scn.name} to confirm"
        )
    if options.auto_ack:
        raise UsageError(f"--auto-ack is refused in production ({scn.name}): manual steps need a person")


def public_vars(scn: Scenario, cli_vars: Mapping[str, str]) -> dict[str, str]:
    """The --var values that may be journaled (never the secret ones)."""
    secret_names = set(scn.secret_vars)
    values = set(scn.secrets)
    return {
        k: v
        for k, v in cli_vars.items()
        if not _SECRET_NAME.search(k) and k not in secret_names and v not in values
    }


def run_scenario(scn: Scenario, request: RunRequest) -> RunResult:
    """Run `scn` in a new run directory (`request.run_dir` or the default one). The run ends at its
    journal: making reports of it is the caller's business."""
    check_safety(scn, request.options, request.confirm_production)
    path = create_run_dir(scn, request.run_dir)
    session: Session | None = None
    try:
        with RunLock(path):
            redactor = Redactor(scn.secrets)
            journal = Journal.create(path / JOURNAL, redactor=redactor)
            session = Session(
                scn, path, journal, options=request.options, listeners=request.listeners, redactor=redactor
            )
            try:
                # only its ts is kept: the record carries the scenario's snapshot (a dict per step)
                started_ts = session.emit(ev.run_started(**_started_payload(scn, path, request)))["ts"]
                if scn.declaring_step is None:
                    declare_t0(session, None, 0.0, started_ts)
                code = drive(session, request.parallel, done={})
                return RunResult(code, path)
            finally:
                session.close_listeners()  # before the journal closes
                journal.close()
    finally:
        if session is None:  # no session got the listeners: close them here
            close_listeners(request.listeners)


def _started_payload(scn: Scenario, path: Path, request: RunRequest) -> RunStartedPayload:
    options = request.options
    return {
        "scenario": scn.name,
        "scenario_sha256": scn.sha256,
        "scenario_path": str(Path(scn.path).absolute()),
        "tool_version": __version__,
        "host": socket.gethostname(),
        "user": user_name(),
        "argv": list(request.argv),
        "environment": scn.environment,
        "dry_run": options.dry_run,
        "run_id": path.name,
        "run_dir": str(path),
        "auto_ack": options.auto_ack,
        "interactive": options.interactive,
        "vars": public_vars(scn, request.cli_vars),
        "inventory": scn.inventory,
        "parallel": request.parallel,
        "snapshot": scenario_snapshot(scn),
    }


def user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


def tasks_of(steps: Sequence[Step]) -> list[Task]:
    return [Task(s.id, s.needs, s.on_failure, s.enabled) for s in steps]


def drive(session: Session, parallel: int, *, done: Mapping[str, bool]) -> int:
    """Schedule the steps not in `done`, then rollback (on abort) and run.finished; the exit code."""
    scn = session.scn
    runner = StepRunner(session)
    todo = [s for s in scn.steps if s.id not in done]
    preload([*todo, *scn.rollback])
    session.start_notes()
    try:
        with _signals(session):
            result = schedule(
                tasks_of(todo),
                lambda sid: runner.run(scn.step(sid)),
                parallel=parallel,
                skip=lambda sid, why: _skip(session, scn.step(sid), why),
                interrupt=session.cancel,
                done=done,
                aborting=session.aborting,
                hold=session.hold,
                idle=lambda: _settle(session),
            )
            if result.aborted and not session.interrupted:
                _rollback(session, runner)
    finally:
        _settle(session)
        session.stop_notes()
        session.resources.close_all()
    return _finish(session, result)


def _settle(session: Session) -> None:
    """The deferred journal lines made durable (a worker has nothing to start at once)."""
    with contextlib.suppress(JournalWriteError):  # the session has interrupted the run: it stops
        session.settle()


def _skip(session: Session, step: Step, reason: str, *, rollback: bool = False) -> None:
    session.emit(
        ev.step_finished(
            step=step.id,
            attempt=session.attempts.get(step.id, 0) + 1,
            status="skipped",
            duration=0.0,
            exit_code=None,
            detail=reason,
            log=None,
            log_sha256=None,
            started_t=session.journal.now_t(),
            final=True,
            rollback=rollback,
        )
    )


def _rollback(session: Session, runner: StepRunner) -> None:
    """`rollback:` steps in order; one failing with on_failure abort stops the rest."""
    failed: str | None = None
    for step in session.scn.rollback:
        if failed is not None or session.interrupted:
            why = f"not started: rollback step {failed} failed" if failed else "not started: run interrupted"
            _skip(session, step, why, rollback=True)
            continue
        status = runner.run(step, rollback=True)
        if status in FAILED and step.on_failure == "abort":
            failed = step.id


def _finish(session: Session, result: Schedule) -> int:
    if session.interrupted:
        session.emit(
            ev.run_interrupted(
                reason=session.interrupt_reason or "interrupted",
                in_flight=sorted(s for s, st in result.statuses.items() if st == "interrupted"),
            )
        )
    if session.interrupted or result.aborted:
        status, code = ("interrupted" if session.interrupted else "aborted"), 3
    else:
        status, code = "complete", _complete_exit_code(session, result)
    session.emit(ev.run_finished(status=status, exit_code=code))
    session.journal_notes()  # notes given while the run ended: none is left behind
    return code


def _complete_exit_code(session: Session, result: Schedule) -> int:
    from bcdrill.record.snapshot import systems_snapshot
    from bcdrill.verdicts.fold import run_level_records
    from bcdrill.verdicts.rto import evaluate

    for step in session.scn.steps:
        if result.statuses.get(step.id) in FAILED and step.on_failure != "ignore":
            return 1
    if result.pending:  # never started (a cycle cannot get here after validation)
        return 1
    if session.options.dry_run:  # nothing was failed over: targets are not judged, only the steps
        return 0
    # the targets are judged on the journal's run-level lines (the runner has the systems itself)
    records = run_level_records(session.journal.path)
    return 0 if evaluate(records, systems_snapshot(session.scn)).all_met else 1


@contextmanager
def _signals(session: Session) -> Iterator[None]:
    """SIGINT/SIGTERM interrupt the run (only the main thread can install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        session.interrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
