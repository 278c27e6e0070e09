"""`manual`: a person confirms pass or fail (DESIGN.md §5).

- `--auto-ack` (or a dry run): acknowledged at once by "auto" / "auto (dry run)".
- In a terminal (`options.interactive`): the prompt is shown and the operator answers
  pass/fail and their name; an ack file dropped meanwhile by `drill ack` also counts.
- Otherwise: wait for `RUN_DIR/acks/<step>.json` (`drill ack` or the web console), looked at
  every 200 ms.
An acknowledgement is pass, fail or not_tested (not a pass: the step fails, with the reason);
a commander's skip (from the console) ends the step `skipped` and journals `commander.action`.
The wait honours the step's deadline and the cancel event. Every acknowledgement is
journalled as `manual.acknowledged`; a `fail` makes the step failed.
- `awx_approve: {step, node}`: the question is asked once the AWX workflow that `step` launched
  waits at approval node `node`; pass approves it there, fail denies it (`executors/awxapproval.py`).
"""

from __future__ import annotations

import select
import sys
import threading
from typing import TextIO

from bcdrill.common import terminal
from bcdrill.common.redact import Redactor
from bcdrill.common.timestamps import utc_ts
from bcdrill.executors.base import AckEvent, Confirmation, Executor, Outcome, StepContext
from bcdrill.scenario.model import ManualAction

POLL = 0.2  # seconds between looks for an ack file


def _record(
    ctx: StepContext,
    by: str,
    result: str,
    note: str | None,
    via: str,
    given: str | None = None,
    origin: Confirmation | None = None,
) -> Outcome:
    ack: AckEvent = {"step": ctx.step.id, "by": by, "result": result, "note": note, "via": via}
    if given:
        ack["given_ts"] = given  # when `drill ack` was typed / the console was used (UTC)
    if origin is not None:  # who acknowledged in the console, and the evidence they gave
        if origin.role:
            ack["role"] = origin.role
        if origin.client:
            ack["client"] = origin.client
        if origin.evidence:
            ack["evidence"] = list(origin.evidence)
    ctx.emit.manual_acknowledged(ack)
    ctx.log.write(f"acknowledged {result} by {by} via {via}" + (f": {note}" if note else "") + "\n")
    if result == "pass":
        return Outcome("ok", f"confirmed by {by}")
    if result == "not_tested":  # not a pass: the verification was not done
        return Outcome("failed", f"not tested ({by})" + (f": {note}" if note else ""))
    return Outcome("failed", f"reported failed by {by}" + (f": {note}" if note else ""))


def _record_ack(ctx: StepContext, ack: Confirmation) -> Outcome:
    """An acknowledgement file (`drill ack` or the console), or a commander's skip."""
    if ack.result == "skip":
        ctx.emit.commander_action(
            {
                "action": "skip",
                "step": ctx.step.id,
                "by": ack.by,
                "role": ack.role,
                "reason": ack.note,
                "via": ack.via,
                "client": ack.client,
                "given_ts": ack.ts,
            }
        )
        ctx.log.write(f"skipped by {ack.by} via {ack.via}: {ack.note}\n")
        return Outcome(
            "skipped", f"skipped by {ack.by}" + (f" ({ack.role})" if ack.role else "") + f": {ack.note}"
        )
    return _record(ctx, ack.by, ack.result, ack.note, ack.via, ack.ts, ack)


def _interrupted(ctx: StepContext) -> Outcome | None:
    if ctx.cancel.is_set():
        return Outcome("cancelled", "cancelled while waiting for confirmation")
    if ctx.expired():
        return Outcome("timeout", "no confirmation before the step's timeout")
    return None


def _take_ack(ctx: StepContext) -> Confirmation | None:
    """A pending ack file for this step, given after this attempt began (an older one is set aside)."""
    ack = ctx.inbox.take_ack(ctx.step.id, ctx.attempt)
    if ack is None:
        return None
    if ack.ts < _began(ctx):
        ctx.log.write(f"ignored a confirmation by {ack.by} given at {ack.ts}, before this step started\n")
        return None
    return ack


def _began(ctx: StepContext) -> str:
    """When this attempt began (UTC, in the ack files' format), remembered per step and attempt."""
    began: dict[tuple[str, int], str] = ctx.resources.get("manual-began", dict)
    return began.setdefault((ctx.step.id, ctx.attempt), utc_ts())


def _ack_or_stop(ctx: StepContext) -> Outcome | None:
    """What ends a wait: an ack file (`drill ack`), the cancel event or the deadline; None: keep waiting."""
    ack = _take_ack(ctx)
    if ack is not None:
        return _record_ack(ctx, ack)
    return _interrupted(ctx)


def _wait_for_ack_file(ctx: StepContext) -> Outcome:
    ctx.log.write(f"waiting for: drill ack {ctx.run_dir} {ctx.step.id} --by NAME [--fail]\n")
    while True:
        ended = _ack_or_stop(ctx)
        if ended is not None:
            return ended
        remaining = ctx.remaining()
        ctx.cancel.wait(POLL if remaining is None else min(POLL, remaining))


def _read_line(ctx: StepContext, stream: TextIO) -> str | Outcome:
    """One line from the terminal, or the Outcome that ended the wait (ack file, cancel, deadline)."""
    while True:
        ended = _ack_or_stop(ctx)
        if ended is not None:
            return ended
        ready, _, _ = select.select([stream], [], [], POLL)
        if ready:
            return stream.readline().strip()


def _ask(ctx: StepContext, heading: str, question: str, stream: TextIO, out: TextIO) -> str | Outcome:
    """One answer; while waiting, a line printed by another step is followed by the question again."""
    out.write(question)
    out.flush()
    terminal.asking(f"{heading}{question}", out)
    try:
        return _read_line(ctx, stream)
    finally:
        terminal.asking(None)


def _prompt(action: ManualAction, ctx: StepContext, stream: TextIO, out: TextIO) -> Outcome:
    prompt = Redactor(ctx.scenario.secrets).mask(action.prompt)  # the terminal is a sink like the journal
    heading = f"\n[{ctx.step.id}] {prompt}\n"
    out.write(heading)
    answer: str | Outcome = ""
    while not isinstance(answer, Outcome) and answer not in ("p", "pass", "f", "fail"):
        if answer:
            out.write(f"  '{answer}' is not an answer: type p (pass) or f (fail)\n")
        answer = _ask(ctx, heading, "  result — pass or fail [p/f]: ", stream, out)
    if isinstance(answer, Outcome):
        return answer
    result = "pass" if answer.startswith("p") else "fail"
    name = _required(
        ctx, heading, "  your name: ", "a name is required: who confirms this step?", stream, out
    )
    if isinstance(name, Outcome):
        return name
    if result == "fail":
        note = _required(
            ctx, heading, "  what failed (a note is required): ", "describe the failure", stream, out
        )
    else:
        note = _ask(ctx, heading, "  note (optional, Enter to skip): ", stream, out)
    if isinstance(note, Outcome):
        return note
    return _record(ctx, name, result, note or None, "terminal")


def _required(
    ctx: StepContext, heading: str, question: str, why: str, stream: TextIO, out: TextIO
) -> str | Outcome:
    answer = _ask(ctx, heading, question, stream, out)
    while isinstance(answer, str) and not answer:
        out.write(f"  {why}\n")
        answer = _ask(ctx, heading, question, stream, out)
    return answer


def run_manual(action: ManualAction, ctx: StepContext) -> Outcome:
    """Ask for a decision; with `awx_approve`, once the AWX workflow waits for it, and then pass it on."""
    if action.awx_approve is None:
        return _confirm(action, ctx)
    from bcdrill.executors.awxapproval import await_approval, settle_approval

    _began(ctx)
    pending = await_approval(action.awx_approve, ctx)
    if isinstance(pending, Outcome):
        return pending
    return settle_approval(action.awx_approve, pending, _confirm(action, ctx), ctx)


def _confirm(action: ManualAction, ctx: StepContext) -> Outcome:
    _began(ctx)
    if ctx.options.auto_ack:
        return _record(ctx, "auto", "pass", None, "auto")
    if not ctx.options.interactive:
        return _wait_for_ack_file(ctx)
    terminal = ctx.resources.get("terminal-lock", threading.Lock)
    while not terminal.acquire(timeout=POLL):  # one prompt at a time; keep watching for ack files
        ended = _ack_or_stop(ctx)
        if ended is not None:
            return ended
    try:
        return _prompt(action, ctx, sys.stdin, sys.stderr)
    finally:
        terminal.release()


class ManualExecutor:
    def run(self, action: ManualAction, ctx: StepContext, /) -> Outcome:
        return run_manual(action, ctx)

    def dry_run(self, action: ManualAction, ctx: StepContext, /) -> Outcome:
        return _record(ctx, "auto (dry run)", "pass", None, "auto")

    def describe(self, action: ManualAction, /) -> str:
        approval = action.awx_approve
        then = f" (then approve '{approval.node}' of {approval.step} on AWX)" if approval else ""
        return f"confirm: {action.prompt}{then}"


EXECUTOR: Executor[ManualAction] = ManualExecutor()
