"""`drill run`, `drill resume`, `drill ack`, `drill note`: starting and steering a run.

The run core stops at the journal; these commands make the reports from the finished journal,
as `drill report` does."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bcdrill.cli.common import EXIT_ABORTED, EXIT_OK, parse_vars, with_warnings
from bcdrill.common.errors import UsageError

if TYPE_CHECKING:
    from bcdrill.run.request import RunRequest, RunResult
    from bcdrill.scenario.model import Scenario


def listeners_of(args: argparse.Namespace) -> list[Any]:
    from bcdrill.cli.consoles import console_listener
    from bcdrill.listeners.terminal import TerminalListener

    listeners: list[Any] = [TerminalListener(sys.stderr)]
    if args.metrics_port is not None or args.pushgateway or args.metrics_textfile:
        from bcdrill.listeners.metrics import MetricsListener

        textfile = Path(args.metrics_textfile) if args.metrics_textfile else None
        if textfile is not None and not textfile.absolute().parent.is_dir():
            raise UsageError(
                f"--metrics-textfile {textfile}: no directory {textfile.absolute().parent} — create it first"
            )
        listeners.append(
            MetricsListener(textfile=textfile, port=args.metrics_port, pushgateway=args.pushgateway)
        )
    console = console_listener(args)
    if console is not None:
        listeners.append(console)
    if getattr(args, "func", None) is cmd_resume and not getattr(
        args, "no_notify", False
    ):  # inert unless the run's scenario has notify:
        from bcdrill.listeners.notify import NotifyListener

        listeners.append(NotifyListener(resumed=True, console_url=console_link(console)))
    return listeners


def console_link(console: Any) -> str | None:
    """The base URL of the console this run serves (`--console`), for chat messages: never a personal
    link. A wildcard address is replaced by this host's name."""
    if console is None:
        return None
    import socket

    url = str(console.exposure.base_url(console.sock.getsockname()[1]))
    host = console.exposure.listen.host
    if host in ("0.0.0.0", "::", ""):
        url = url.replace(f"[{host}]" if ":" in host else host, socket.gethostname(), 1)
    return url.rstrip("/")


def with_notify(request: RunRequest, scn: Scenario, args: argparse.Namespace) -> RunRequest:
    """The request with a notifier when the scenario has `notify:` (and no --no-notify)."""
    if scn.notify is None or getattr(args, "no_notify", False):
        return request
    import dataclasses

    from bcdrill.listeners.notify import NotifyListener

    console = None
    if getattr(args, "console", None):  # the console module (uvicorn...) only when one runs
        from bcdrill.listeners.console import ConsoleListener

        console = next((x for x in request.listeners if isinstance(x, ConsoleListener)), None)
    notifier = NotifyListener(console_url=console_link(console))
    return dataclasses.replace(request, listeners=[*request.listeners, notifier])


def request_of(args: argparse.Namespace, **extra: Any) -> RunRequest:
    """The run request the options of `drill run`/`drill resume` make."""
    from bcdrill.executors.base import RunOptions
    from bcdrill.run.request import RunRequest

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    options = RunOptions(
        dry_run=getattr(args, "dry_run", False), auto_ack=args.auto_ack, interactive=interactive
    )
    return RunRequest(
        options=options,
        parallel=args.parallel,
        listeners=listeners_of(args),
        argv=tuple(sys.argv),
        cli_vars=parse_vars(args.var),
        **extra,
    )


def report_run(result: RunResult, lang: str) -> int:
    """Write the reports of a finished run from its journal; the run's exit code. A report that
    cannot be written leaves the run's outcome as it is: `drill report` can make it later."""
    from bcdrill.render import DEFAULT_FORMATS, write_reports

    previous = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
    try:
        write_reports(result.run_dir, list(DEFAULT_FORMATS), lang=lang)  # the journal as it ends
    except KeyboardInterrupt:  # SIGINT or SIGTERM: the journal is whole, the reports can be made later
        sys.stderr.write(
            f"drill: interrupted while writing the reports — make them with `drill report {result.run_dir}` "
            f"or `drill resume {result.run_dir}`\n"
        )
        return EXIT_ABORTED
    except Exception as exc:  # the journal is complete; reports can be re-made with `drill report`
        sys.stderr.write(
            f"drill: warning: reports not written ({type(exc).__name__}: {exc}); "
            f"make them with `drill report {result.run_dir}`\n"
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return result.exit_code


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def reports_of_finished_run(run_dir: Path, lang: str) -> int | None:
    """For `drill resume` of a run that ended but whose reports were never written (interrupted while
    writing them): write them and return the run's exit code; None when there is something to resume."""
    from bcdrill.record.journal import iter_journal
    from bcdrill.render import DEFAULT_FORMATS, FILENAMES, write_reports
    from bcdrill.verdicts.fold import fold, run_level_records
    from bcdrill.verdicts.summary import run_status

    path = run_dir / "journal.jsonl"
    if not path.is_file():
        return None
    status, code, _ = run_status(run_level_records(path))
    missing = [fmt for fmt in DEFAULT_FORMATS if not (run_dir / FILENAMES[fmt]).exists()]
    if status != "complete" or code is None or not missing:
        return None
    for written in write_reports(run_dir, list(DEFAULT_FORMATS), lang=lang, journal=fold(iter_journal(path))):
        print(written)
    return code


def cmd_run(args: argparse.Namespace) -> int:
    from bcdrill.common.libc import limit_arenas
    from bcdrill.run.runner import run_scenario
    from bcdrill.scenario.loader import load_scenario

    limit_arenas()  # before any thread starts: the steps' worker threads share two arenas
    request = request_of(
        args,
        run_dir=Path(args.run_dir) if args.run_dir else None,
        confirm_production=args.confirm_production,
    )
    scn = with_warnings(
        load_scenario(args.file, cli_vars=request.cli_vars, inventory=args.inventory), args.strict
    )
    big = len(scn.steps) >= 1000
    result = run_scenario(scn, with_notify(request, scn, args))
    del scn, request  # the reports read the journal alone: the scenario's memory is theirs now
    if big:  # they run with the cyclic GC paused: free the run's cycles first (7 ms: not for a small run)
        gc.collect()
    return report_run(result, args.lang)


def cmd_resume(args: argparse.Namespace) -> int:
    from bcdrill.common.libc import limit_arenas
    from bcdrill.run.resume import resume_run

    limit_arenas()
    if args.mark_done and not args.by:
        raise UsageError("--mark-done needs --by NAME — the person who checked the step's effect")
    finished = reports_of_finished_run(Path(args.run_dir), args.lang)
    if finished is not None:
        return finished
    request = request_of(
        args,
        rerun=tuple(args.rerun or ()),
        mark_done=tuple(args.mark_done or ()),
        by=args.by,
        drop_partial_line=args.drop_partial_line,
    )
    result = resume_run(Path(args.run_dir), request)
    del request  # its listeners hold the scenario: the reports read the journal alone
    gc.collect()
    return report_run(result, args.lang)


def cmd_ack(args: argparse.Namespace) -> int:
    from bcdrill.run.inbox import write_ack

    path = write_ack(
        Path(args.run_dir), args.step, by=args.by, result="fail" if args.fail else "pass", note=args.note
    )
    print(f"acknowledged {args.step} as {'fail' if args.fail else 'pass'} by {args.by}: {path}")
    return EXIT_OK


def cmd_note(args: argparse.Namespace) -> int:
    from bcdrill.render import refresh_reports
    from bcdrill.run.notes import add_note

    result = add_note(
        Path(args.run_dir),
        kind=args.kind,
        text=args.text,
        owner=args.owner,
        due=args.due,
        by=args.by,
        closes=args.closes,
    )
    where = result.where
    if result.journaled:
        refresh_reports(Path(args.run_dir))
        where += "; reports re-rendered"
    print(f"{args.kind} noted: {where}")
    return EXIT_OK
