"""`drill resume RUN_DIR`: continue a run that was interrupted, aborted or killed.

What the journal says decides what happens to each step:
- ended ok, or skipped because its `when` is false: done, never re-run;
- failed/timed out (final attempt): done (dependents stay skipped) unless `--rerun STEP`; a
  step whose failure aborted the drill (`on_failure: abort`) needs `--rerun` or `--mark-done`:
  a plain resume is refused and says so;
- failed with a retry still due (the run stopped between attempts): runs again;
- skipped because a need failed or the drill aborted, or never started: scheduled again;
- in flight when the run stopped (a `step.started` without its `step.finished`, e.g. after
  `kill -9`) or `interrupted`: its effect is unknown. It is first journaled `interrupted`;
  then it is re-run if it is `idempotent: true` or named by `--rerun`, recorded done if
  named by `--mark-done STEP --by NAME`, and otherwise the resume is refused (exit 2)
  before anything is written.
Decisions a commander took in the web console (`requests.py`: `retry` = `--rerun`, `mark_done` =
`--mark-done` with their name) apply as if given on the command line and are journaled as
`commander.action` right after `run.resumed`.
T0 and the systems already recovered come from the journal; `t` continues its scale.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bcdrill.common.errors import RunDirError
from bcdrill.common.redact import Redactor
from bcdrill.record import events as ev
from bcdrill.record.events import (
    CLOCK_DECLARED,
    RUN_FINISHED,
    RUN_STARTED,
    STEP_FINISHED,
    STEP_STARTED,
    SYSTEM_RECOVERED,
    Record,
    RunStarted,
    StepStarted,
)
from bcdrill.record.journal import Journal, iter_journal
from bcdrill.run.lock import RunLock
from bcdrill.run.orphans import settle_orphans
from bcdrill.run.request import RunRequest, RunResult
from bcdrill.run.requests import RESUME_ACTIONS, mark_request_done, pending_requests
from bcdrill.run.rundir import JOURNAL, SCENARIO, is_run_dir
from bcdrill.run.scheduler import DISABLED, FAILED
from bcdrill.run.session import Session, close_listeners
from bcdrill.run.stepclock import record_clock_events
from bcdrill.scenario.model import Scenario


@dataclass(frozen=True)
class LastEnd:
    """What resume needs of a step's last `step.finished` (the whole record is not kept: a 50,000-step
    journal would hold tens of MB of them)."""

    status: str
    detail: str | None
    waived: bool
    final: bool


@dataclass
class Past:
    """What the journal records about the earlier session(s)."""

    started: RunStarted  # without its `snapshot` (`full_run_started` reads it again when needed)
    status: str | None = None  # of the last run.finished
    last: dict[str, LastEnd] = field(default_factory=dict)  # last step.finished per step
    attempts: dict[str, int] = field(default_factory=dict)
    open: dict[str, StepStarted] = field(default_factory=dict)  # step.started without finish
    t0: float | None = None
    t0_ts: str | None = None
    recovered: set[str] = field(default_factory=set)


def read_past(records: Iterable[Record], path: Path) -> Past:
    """What the journal says happened, its records read once, in order (a stream will do)."""
    lines = iter(records)
    first = _run_started(next(lines, None), path)
    past = Past(started=cast(RunStarted, {k: v for k, v in first.items() if k != "snapshot"}))
    del first  # its snapshot: a dict per step
    for r in lines:
        if r["event"] == STEP_STARTED and not r.get("rollback"):
            past.attempts[r["step"]] = max(past.attempts.get(r["step"], 0), r["attempt"])
            past.open[r["step"]] = r
        elif r["event"] == STEP_FINISHED and not r.get("rollback"):
            past.attempts[r["step"]] = max(past.attempts.get(r["step"], 0), r["attempt"])
            past.last[r["step"]] = LastEnd(
                r["status"], r.get("detail"), bool(r.get("waived")), bool(r.get("final", True))
            )
            past.open.pop(r["step"], None)
        elif r["event"] == CLOCK_DECLARED:
            past.t0, past.t0_ts = float(r["t0"]), r.get("t0_ts")
        elif r["event"] == SYSTEM_RECOVERED:
            past.recovered.add(r["system"])
        elif r["event"] == RUN_FINISHED:
            past.status = r["status"]
    return past


def full_run_started(path: Path) -> RunStarted:
    """The journal's first line, run.started, with its snapshot (read again: it is not kept)."""
    return _run_started(next(iter_journal(path), None), path)


def _run_started(first: Record | None, path: Path) -> RunStarted:
    if first is None or first["event"] != RUN_STARTED:
        raise RunDirError(f"{path}: the journal does not start with run.started; it cannot be resumed")
    return first


@dataclass
class Decision:
    done: dict[str, bool] = field(default_factory=dict)  # id -> satisfied
    crashed: list[str] = field(default_factory=list)  # in flight without a step.finished
    marked: list[str] = field(default_factory=list)


def _in_flight_message(step_id: str) -> str:
    return (
        f"step {step_id} was in flight when the run stopped and is not idempotent — check its effect, "
        f"then resume with --rerun {step_id} or --mark-done {step_id} --by NAME"
    )


def _aborted_message(step_id: str, status: str) -> str:
    return (
        f"step {step_id} ended {status} and aborted the drill — fix the cause, then resume with "
        f"--rerun {step_id}, or record it done with --mark-done {step_id} --by NAME"
    )


def decide(scn: Scenario, past: Past, rerun: Sequence[str], mark_done: Sequence[str]) -> Decision:
    """Which steps are done; RunDirError (nothing written) when the resume cannot go on."""
    ids = {s.id for s in scn.steps}
    unknown = [s for s in [*rerun, *mark_done] if s not in ids]
    if unknown:
        raise RunDirError(f"no step {', '.join(unknown)} in {scn.name}")
    decision, problems = Decision(), []
    for step in scn.steps:
        last = past.last.get(step.id)
        status = last.status if last else None
        if step.id in past.open or status in ("interrupted", "cancelled"):
            if step.id in past.open:
                decision.crashed.append(step.id)
            if step.id in mark_done:
                decision.marked.append(step.id)
            elif not (step.idempotent or step.id in rerun):
                problems.append(_in_flight_message(step.id))
        elif status == "ok" or (status == "skipped" and last and (last.detail == DISABLED or last.waived)):
            if step.id in rerun or step.id in mark_done:
                problems.append(f"step {step.id} already ended {status}; it is never re-run")
            decision.done[step.id] = True
        elif status in FAILED and last and last.final:
            if step.id in mark_done:
                decision.marked.append(step.id)
            elif step.on_failure == "abort" and step.id not in rerun:
                problems.append(_aborted_message(step.id, str(status)))
            elif step.id not in rerun:
                decision.done[step.id] = step.on_failure == "ignore"
    if problems:
        raise RunDirError("\n".join(problems))
    return decision


def _load(run_dir: Path, past: Past, cli_vars: Mapping[str, str]) -> Scenario:
    from bcdrill.scenario.loader import load_scenario

    started = past.started
    original = started.get("scenario_path")
    base_dir = Path(original).parent if original else run_dir
    merged = {**(started.get("vars") or {}), **cli_vars}
    scn = load_scenario(
        run_dir / SCENARIO, cli_vars=merged, base_dir=base_dir, inventory=started.get("inventory")
    )
    recorded = started.get("scenario_sha256")
    if recorded and scn.sha256 != recorded:
        raise RunDirError(
            f"{run_dir / SCENARIO} was changed since the run started (sha256 {scn.sha256[:12]}…, "
            f"the journal recorded {str(recorded)[:12]}…) — restore the original to resume; "
            "a changed drill is a new run"
        )
    return scn


def resume_run(run_dir: Path, request: RunRequest) -> RunResult:
    """Continue an interrupted, aborted or crashed run in place. Closes `request.listeners`."""
    from bcdrill.record.journal import set_aside_partial_tail
    from bcdrill.run.runner import check_safety, drive, user_name

    run_dir = Path(run_dir).absolute()
    session: Session | None = None
    try:
        if not is_run_dir(run_dir):
            raise RunDirError(f"{run_dir} is not a drill run directory (no {JOURNAL})")
        if request.mark_done and not request.by:
            raise RunDirError("--mark-done needs --by NAME — the person who checked the step's effect")
        with RunLock(run_dir):
            dropped = set_aside_partial_tail(run_dir / JOURNAL) if request.drop_partial_line else None
            past = read_past(iter_journal(run_dir / JOURNAL), run_dir / JOURNAL)
            if past.status == "complete":
                raise RunDirError(f"{run_dir}: the run is complete — nothing to resume")
            scn = _load(run_dir, past, request.cli_vars)
            check_safety(scn, request.options, scn.name)  # production was confirmed when the run started
            redactor = Redactor(scn.secrets)
            in_flight = {sid: rec for sid, rec in past.open.items() if not rec.get("rollback")}
            settle_orphans(run_dir, scn, in_flight, run_dir / JOURNAL, redactor, request.rerun)
            console = _console_decisions(run_dir, request)
            rerun = [*request.rerun, *console.rerun]
            decision = decide(scn, past, rerun, [*request.mark_done, *console.marked])
            journal = Journal.reopen(run_dir / JOURNAL, redactor=redactor)
            session = Session(
                scn, run_dir, journal, options=request.options, listeners=request.listeners, redactor=redactor
            )
            try:
                _restore(session, past)
                if session.listeners:  # they learn the scenario again (targets, steps): its snapshot
                    session.tell(full_run_started(run_dir / JOURNAL))
                session.emit(
                    ev.run_resumed(
                        user=user_name(),
                        host=socket.gethostname(),
                        argv=list(request.argv),
                        auto_ack=request.options.auto_ack,
                        interactive=request.options.interactive,
                        dry_run=request.options.dry_run,
                        rerun=rerun,
                        mark_done=[{"step": s, "by": request.by} for s in request.mark_done]
                        + [{"step": s, "by": by} for s, by in console.marked.items()],
                        dropped_partial_line=dropped,
                    )
                )
                console.journal(session)
                _close_crashed(session, past, decision)
                _mark_done(
                    session, decision, {**console.marked, **dict.fromkeys(request.mark_done, request.by)}
                )
                code = drive(session, request.parallel, done=decision.done)
                return RunResult(code, run_dir)
            finally:
                session.close_listeners()  # before the journal closes
                journal.close()
    finally:
        if session is None:  # no session got the listeners: close them here
            close_listeners(request.listeners)


@dataclass
class ConsoleDecisions:
    """`retry` / `mark_done` decisions a commander took in the web console for this resume (a step
    named on the command line keeps the command line's decision)."""

    rerun: list[str] = field(default_factory=list)
    marked: dict[str, str] = field(default_factory=dict)  # step -> by
    requests: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)

    def journal(self, session: Session) -> None:
        for path, req in self.requests:
            session.emit(
                ev.commander_action(
                    action=req["action"],
                    step=req.get("step"),
                    by=req["by"],
                    role=req.get("role"),
                    reason=req.get("reason"),
                    via=req.get("via"),
                    client=req.get("client"),
                    given_ts=req.get("ts"),
                )
            )
            mark_request_done(path)


def _console_decisions(run_dir: Path, request: RunRequest) -> ConsoleDecisions:
    named = {*request.rerun, *request.mark_done}
    found = ConsoleDecisions()
    for path, req in pending_requests(run_dir, RESUME_ACTIONS):
        step = req.get("step")
        if not isinstance(step, str) or step in named:
            continue
        named.add(step)
        found.requests.append((path, req))
        if req["action"] == "retry":
            found.rerun.append(step)
        else:
            found.marked[step] = req["by"]
    return found


def _restore(session: Session, past: Past) -> None:
    session.attempts.update(past.attempts)
    session.clock.t0, session.clock.t0_ts = past.t0, past.t0_ts
    session.clock.recovered |= past.recovered


def _scrub_crashed_artifacts(session: Session, crashed: Sequence[str]) -> None:
    """What ansible-runner left in the clear for a step the killed runner never cleaned up after (the
    extravars file, the environment, unmasked output) is scrubbed before anything else happens."""
    dirs = [d for sid in crashed for d in (session.run_dir / "artifacts").glob(f"{sid}-*") if d.is_dir()]
    if dirs:
        from bcdrill.executors.transport.ansible import scrub_artifacts

        for directory in dirs:
            scrub_artifacts(directory, session.redactor)


def _close_crashed(session: Session, past: Past, decision: Decision) -> None:
    _scrub_crashed_artifacts(session, decision.crashed)
    for sid in decision.crashed:
        started = past.open[sid]
        log = Path(session.run_dir) / "logs" / f"{sid}.log"
        session.emit(
            ev.step_finished(
                step=sid,
                attempt=started["attempt"],
                status="interrupted",
                duration=None,
                exit_code=None,
                detail="in flight when the run stopped (the runner was killed or crashed)",
                log=f"logs/{sid}.log" if log.exists() else None,
                log_sha256=_sha(log),
                started_t=started["t"],
                final=True,
                rollback=False,
            )
        )


def _sha(path: Path) -> str | None:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _mark_done(session: Session, decision: Decision, by_step: Mapping[str, str | None]) -> None:
    """Record the steps a person checked by hand as ok (their clock events count from now)."""
    from bcdrill.common.timestamps import utc_ts
    from bcdrill.executors.base import Outcome

    for sid in decision.marked:
        by = by_step.get(sid) or "unknown"
        step = session.scn.step(sid)
        attempt = session.attempts.get(sid, 0) + 1
        session.attempts[sid] = attempt
        session.emit(
            ev.manual_acknowledged(
                step=sid,
                by=by,
                result="pass",
                note="marked done on resume",
                via="mark-done",
            )
        )
        now = session.journal.now_t()
        session.emit(
            ev.step_finished(
                step=sid,
                attempt=attempt,
                status="ok",
                duration=0.0,
                exit_code=None,
                detail=f"marked done by {by}",
                log=None,
                log_sha256=None,
                started_t=now,
                final=True,
                rollback=False,
            )
        )
        decision.done[sid] = True
        step_no_rpo = step if not step.rpo_of else _without_rpo(step)
        record_clock_events(session, step_no_rpo, Outcome("ok"), now, utc_ts())


def _without_rpo(step: Any) -> Any:
    import dataclasses

    return dataclasses.replace(step, rpo_of=())
