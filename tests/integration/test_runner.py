"""The runner driven from Python on real scenarios with real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from bcdrill.cli.runs import report_run
from bcdrill.common.errors import RunDirError, UsageError
from bcdrill.executors.base import RunOptions
from bcdrill.record.journal import read_journal, verify_journal
from bcdrill.run.lock import RunLock
from bcdrill.run.request import RunRequest
from bcdrill.run.resume import resume_run
from bcdrill.run.runner import run_scenario
from bcdrill.scenario.loader import load_scenario

HEAD = """\
version: 1
name: {name}
title: test drill
environment: {env}
defaults: {{timeout: 30s, retries: 0, retry_delay: 0s, on_failure: abort}}
"""


def write(tmp_path: Path, body: str, name: str = "t", env: str = "lab") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(HEAD.format(name=name, env=env) + textwrap.dedent(body), encoding="utf-8")
    return path


def run(path: Path, run_dir: Path, **kw: Any) -> int:
    cli_vars = kw.pop("cli_vars", {})
    scn = load_scenario(path, cli_vars=cli_vars)
    request = RunRequest(
        options=kw.pop("options", RunOptions(auto_ack=True)),
        parallel=kw.pop("parallel", 4),
        argv=("drill",),
        cli_vars=cli_vars,
        run_dir=run_dir,
        **kw,
    )
    return report_run(run_scenario(scn, request), "en")


def resume(run_dir: Path, **kw: Any) -> int:
    """`drill resume` as the CLI does it: resume, then the reports from the journal."""
    request = RunRequest(options=RunOptions(auto_ack=True), parallel=4, argv=("drill", "resume"), **kw)
    return report_run(resume_run(run_dir, request), "en")


def events(run_dir: Path, name: str | None = None) -> list[dict[str, Any]]:
    recs = read_journal(run_dir / "journal.jsonl")
    return [r for r in recs if name is None or r["event"] == name]


def finals(run_dir: Path) -> dict[str, dict[str, Any]]:
    return {r["step"]: r for r in events(run_dir, "step.finished") if r["final"] and not r["rollback"]}


def test_parallel_systems_rto_breach_exit_1_and_achieved_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        systems:
          fast: {title: Fast, rto: 5s}
          slow: {title: Slow, rto: 500ms}
        steps:
          - {id: declare, run: "true", declares: true}
          - {id: fast-up, needs: [declare], run: "sleep 0.3", recovers: [fast]}
          - {id: slow-up, needs: [declare], run: "sleep 0.8; echo slow is up", recovers: [slow]}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 1
    rto = {r["system"]: r["rto"] for r in events(run_dir, "system.recovered")}
    assert rto["fast"] == pytest.approx(0.3, abs=0.3) and rto["slow"] == pytest.approx(0.8, abs=0.3)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["systems"]["slow"]["rto_met"] is False and summary["systems"]["fast"]["rto_met"] is True
    for name in ("scenario.yaml", "report.html", "report.md", "junit.xml", "logs/slow-up.log"):
        assert (run_dir / name).is_file()
    assert (run_dir / "scenario.yaml").read_bytes() == path.read_bytes()
    assert events(run_dir, "run.finished")[0]["status"] == "complete"
    assert "slow is up" in (run_dir / "logs/slow-up.log").read_text()
    assert finals(run_dir)["declare"]["log"] is None and not (run_dir / "logs/declare.log").exists()  # silent


def test_duration_is_precise(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - {id: s, run: [sleep, '0.2']}\n")
    run(path, tmp_path / "run")
    assert finals(tmp_path / "run")["s"]["duration"] == pytest.approx(0.2, abs=0.03)


def test_failed_restore_leaves_system_unrecovered_and_dependents_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        systems: {core: {title: Core, rto: 1h}}
        steps:
          - {id: restore, run: "echo disk full; exit 4", on_failure: continue}
          - {id: core-up, needs: [restore], run: "true", recovers: [core]}
          - {id: verify, needs: [core-up], run: "true"}
          - {id: other, needs: [], run: "true"}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 1
    f = finals(run_dir)
    assert f["restore"]["status"] == "failed" and f["restore"]["exit_code"] == 4
    assert f["restore"]["detail"] == "exit code 4: disk full"
    assert f["core-up"]["detail"] == "needs restore which failed"
    assert f["verify"]["status"] == "skipped" and f["other"]["status"] == "ok"
    assert not events(run_dir, "system.recovered")
    assert json.loads((run_dir / "summary.json").read_text())["systems"]["core"]["rto_achieved"] is None


def test_rpo_from_printed_timestamp(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        systems: {db: {title: DB, rto: 1h, rpo: 30m}}
        steps:
          - {id: declare, run: "true", declares: true}
          - {id: newest, run: "echo checking; date -u -d '-120 seconds' +%Y-%m-%dT%H:%M:%SZ", rpo_of: [db]}
          - {id: up, run: "true", recovers: [db]}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 0
    (rpo,) = events(run_dir, "system.rpo")
    assert rpo["rpo"] == pytest.approx(120, abs=2)


def test_unparsable_rpo_timestamp_fails_the_step(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        systems: {db: {title: DB, rpo: 1m}}
        steps:
          - {id: newest, run: "echo soon", rpo_of: [db], on_failure: continue}
          - {id: up, run: "true", recovers: [db]}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 1
    f = finals(run_dir)["newest"]
    assert f["status"] == "failed" and "newest-data timestamp" in f["detail"] and "'soon'" in f["detail"]


def test_retries_number_attempts(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    path = write(
        tmp_path,
        f"""\
        steps:
          - id: flaky
            run: "echo x >> {counter}; test $(wc -l < {counter}) -ge 3"
            retries: 3
            retry_delay: 50ms
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 0
    fin = [(r["attempt"], r["status"], r["final"]) for r in events(run_dir, "step.finished")]
    assert fin == [(1, "failed", False), (2, "failed", False), (3, "ok", True)]


def test_until_polls_until_ok(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    path = write(
        tmp_path,
        f"""\
        steps:
          - id: wait-up
            check: {{command: {{command: "echo x >> {counter}; test $(wc -l < {counter}) -ge 4"}}}}
            until: {{every: 100ms, within: 5s}}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 0
    (fin,) = events(run_dir, "step.finished")
    assert fin["polls"] == 4 and fin["status"] == "ok"
    assert fin["duration"] == pytest.approx(0.3, abs=0.1)
    assert (run_dir / "logs/wait-up.log").read_text().count("poll ") == 4


def test_until_gives_up_after_within(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        steps:
          - {id: never, check: {command: {command: "false"}}, until: {every: 100ms, within: 350ms}}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 3  # on_failure abort
    fin = finals(run_dir)["never"]
    assert fin["status"] == "failed" and fin["detail"].startswith("not ok after 4 polls")
    # the time named is the time the polls took (the step's duration), not the 350 ms window: the
    # 4th poll at ~300 ms left no room for a 5th
    took = re.match(r"not ok after 4 polls in (\d+)ms: ", fin["detail"])
    assert took is not None and abs(int(took.group(1)) - fin["duration"] * 1000) <= 20, fin


def test_abort_runs_rollback_and_skips_the_rest(tmp_path: Path) -> None:
    marker = tmp_path / "rolled-back"
    path = write(
        tmp_path,
        f"""\
        steps:
          - {{id: promote, run: "exit 1"}}
          - {{id: after, run: "true"}}
        rollback:
          - {{id: demote, run: "touch {marker}"}}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 3
    assert marker.exists()
    f = {r["step"]: r for r in events(run_dir, "step.finished")}
    assert f["after"]["detail"] == "not started: drill aborted"
    assert f["demote"]["rollback"] is True and f["demote"]["status"] == "ok"
    assert events(run_dir, "run.finished")[0]["status"] == "aborted"


def test_resume_after_an_abort_asks_what_to_do_with_the_failed_step(tmp_path: Path) -> None:
    fixed = tmp_path / "fixed"
    path = write(
        tmp_path,
        f"""\
        steps:
          - {{id: promote, run: "test -e {fixed}"}}
          - {{id: after, run: "true"}}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 3
    with pytest.raises(
        RunDirError, match=r"step promote ended failed and aborted the drill .* --rerun promote"
    ):
        resume(run_dir)
    fixed.touch()
    assert resume(run_dir, rerun=["promote"]) == 0
    assert finals(run_dir)["promote"]["status"] == "ok" and finals(run_dir)["after"]["status"] == "ok"


def test_timeout_kills_the_step(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - {id: hang, run: 'sleep 30', timeout: 300ms, on_failure: continue}\n")
    run_dir = tmp_path / "run"
    t = time.monotonic()
    assert run(path, run_dir) == 1
    assert time.monotonic() - t < 15  # killed at its 300ms timeout, not after the 30 s sleep
    assert finals(run_dir)["hang"]["status"] == "timeout"


def test_dry_run_executes_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "created"
    path = write(
        tmp_path,
        f"""\
        steps:
          - {{id: make, run: "touch {marker}"}}
          - {{id: pause, wait: 1h}}
          - {{id: confirm, manual: {{prompt: ok?}}}}
          - {{id: probe, check: {{command: {{command: "echo probed"}}}}}}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir, options=RunOptions(dry_run=True)) == 0
    assert not marker.exists()
    f = finals(run_dir)
    assert f["make"]["detail"] == f"dry run: not executed: touch {marker}"
    assert f["pause"]["detail"].startswith("dry run: not executed")
    assert events(run_dir, "manual.acknowledged")[0]["by"] == "auto (dry run)"
    assert "probed" in (run_dir / "logs/probe.log").read_text()
    assert events(run_dir, "run.started")[0]["dry_run"] is True


def test_a_check_marked_dry_run_skip_is_shown_not_run_in_a_dry_run_and_runs_otherwise(tmp_path: Path) -> None:
    marker = tmp_path / "asked"
    path = write(
        tmp_path,
        f"""\
        steps:
          - {{id: dr-serves, check: {{command: {{command: "touch {marker}; false"}}}}, dry_run: skip}}
        """,
    )
    assert run(path, tmp_path / "rehearsal", options=RunOptions(dry_run=True)) == 0
    assert finals(tmp_path / "rehearsal")["dr-serves"]["detail"] == "dry run: not run (dry_run: skip)"
    assert not marker.exists()  # not even asked
    snapshot = events(tmp_path / "rehearsal", "run.started")[0]["snapshot"]["steps"][0]
    assert snapshot["dry_run"] == "skip"
    assert run(path, tmp_path / "real") == 3  # a real run asks, and the failure aborts
    assert marker.exists() and finals(tmp_path / "real")["dr-serves"]["status"] == "failed"


def test_dry_run_leaves_the_rpo_of_a_command_not_run_unmeasured(tmp_path: Path) -> None:
    """A dry run does not run the command that would print the newest-data time: no failure, no abort."""
    path = write(
        tmp_path,
        """\
        systems:
          core: {rto: 1m, rpo: 10m}
        steps:
          - {id: rpo, run: "date -u +%s", rpo_of: [core]}
          - {id: up, run: "true", recovers: [core]}
        """,
    )
    run_dir = tmp_path / "run"
    assert run(path, run_dir, options=RunOptions(dry_run=True)) == 0  # steps ok; targets are not judged
    f = finals(run_dir)
    assert f["rpo"]["status"] == "ok" and "RPO not measured in a dry run" in f["rpo"]["detail"]
    assert f["up"]["status"] == "ok"
    assert events(run_dir, "system.rpo") == []
    assert events(run_dir, "run.finished")[0]["status"] == "complete"


def test_manual_step_waits_for_an_ack_file(tmp_path: Path) -> None:
    from bcdrill.run.inbox import write_ack

    path = write(tmp_path, "steps:\n  - {id: verify, manual: {prompt: check it}, timeout: 10s}\n")
    run_dir = tmp_path / "run"
    import threading

    def ack() -> None:
        while not (run_dir / "journal.jsonl").exists():
            time.sleep(0.02)
        time.sleep(0.2)
        write_ack(run_dir, "verify", by="Zhang San", result="pass", note="looks fine")

    threading.Thread(target=ack).start()
    assert run(path, run_dir, options=RunOptions()) == 0
    (acked,) = events(run_dir, "manual.acknowledged")
    assert acked["by"] == "Zhang San" and acked["via"] == "ack-file"
    assert acked["given_ts"] >= events(run_dir, "step.started")[0]["ts"]


def test_an_ack_file_older_than_the_step_is_ignored(tmp_path: Path) -> None:
    import json
    import threading

    path = write(tmp_path, "steps:\n  - {id: verify, manual: {prompt: check it}, timeout: 10s}\n")
    run_dir = tmp_path / "run"

    def ack() -> None:
        while not (run_dir / "journal.jsonl").exists():
            time.sleep(0.02)
        stale = {"step": "verify", "by": "Early Bird", "result": "pass", "ts": "2020-01-01T00:00:00.000000Z"}
        (run_dir / "acks" / "verify.json").write_text(json.dumps(stale))  # bypassing `drill ack`
        time.sleep(0.6)
        from bcdrill.run.inbox import write_ack

        write_ack(run_dir, "verify", by="Zhang San")

    threading.Thread(target=ack).start()
    assert run(path, run_dir, options=RunOptions()) == 0
    (acked,) = events(run_dir, "manual.acknowledged")
    assert acked["by"] == "Zhang San"
    assert "ignored a confirmation by Early Bird" in (run_dir / "logs" / "verify.log").read_text()


def test_production_guard_and_auto_ack_refusal(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - {id: s, run: 'true'}\n", name="prod", env="production")
    with pytest.raises(UsageError, match="--confirm-production prod"):
        run(path, tmp_path / "run")
    with pytest.raises(UsageError, match="auto-ack"):
        run(path, tmp_path / "run", confirm_production="prod")
    assert not (tmp_path / "run").exists()
    assert run(path, tmp_path / "run", options=RunOptions(), confirm_production="prod") == 0


def test_refuses_non_empty_dir_and_locked_run(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - {id: s, run: 'true'}\n")
    other = tmp_path / "stuff"
    other.mkdir()
    (other / "x").write_text("x")
    with pytest.raises(RunDirError, match="not empty"):
        run(path, other)
    run_dir = tmp_path / "run"
    path2 = write(tmp_path, "steps:\n  - {id: s, run: 'exit 1'}\n", name="t2")
    assert run(path2, run_dir) == 3
    with RunLock(run_dir), pytest.raises(RunDirError, match=f"in use by pid {os.getpid()}"):
        resume(run_dir)


def test_canary_secret_appears_nowhere(tmp_path: Path) -> None:
    canary = "CANARY-s3cr3t-4242"
    path = write(
        tmp_path,
        """\
        systems: {web: {title: Web, rto: 1h}}
        steps:
          - {id: login, run: "echo using {{ db_password }}; echo {{ db_password }} >&2", recovers: [web]}
          - {id: fail, run: "echo bad {{ db_password }}; exit 3", on_failure: continue}
        """,
    )
    run_dir = tmp_path / "run"
    scn = load_scenario(path, cli_vars={"db_password": canary, "site": "dr"})
    argv = ["drill", "run", "--var", f"db_password={canary}"]
    request = RunRequest(
        options=RunOptions(),
        parallel=2,
        argv=tuple(argv),
        cli_vars={"db_password": canary, "site": "dr"},
        run_dir=run_dir,
    )
    code = report_run(run_scenario(scn, request), "en")
    assert code == 1
    for file in run_dir.rglob("*"):
        if file.is_file():
            assert canary.encode() not in file.read_bytes(), file
    assert events(run_dir, "run.started")[0]["vars"] == {"site": "dr"}
    assert "***" in (run_dir / "logs/login.log").read_text()


def _start_killable(tmp_path: Path, body: str) -> tuple[subprocess.Popen[bytes], Path]:
    path = write(tmp_path, body)
    run_dir = tmp_path / "run"
    code = (
        "from pathlib import Path; from bcdrill.scenario.loader import load_scenario; "
        "from bcdrill.run.runner import run_scenario; from bcdrill.executors.base import RunOptions; "
        "from bcdrill.run.request import RunRequest; "
        f"run_scenario(load_scenario({str(path)!r}), RunRequest(run_dir=Path({str(run_dir)!r}), "
        "options=RunOptions(auto_ack=True), parallel=2))"
    )
    return subprocess.Popen([sys.executable, "-c", code]), run_dir


def _kill_when(proc: subprocess.Popen[bytes], marker: Path) -> None:
    end = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < end:
        time.sleep(0.02)
    assert marker.exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _kill9_scenario(tmp_path: Path, idempotent: bool) -> tuple[str, Path, Path]:
    marker, count = tmp_path / "started", tmp_path / "count"
    body = f"""\
        steps:
          - {{id: first, run: "true"}}
          - id: migrate
            run: "echo x >> {count}; touch {marker}; sleep 0.5"
            idempotent: {"true" if idempotent else "false"}
          - {{id: last, run: "true"}}
        """
    return body, marker, count


@pytest.mark.parametrize("idempotent", [False, True])
def test_kill_9_then_resume(tmp_path: Path, idempotent: bool) -> None:
    body, marker, count = _kill9_scenario(tmp_path, idempotent)
    proc, run_dir = _start_killable(tmp_path, body)
    _kill_when(proc, marker)
    if not idempotent:
        with pytest.raises(RunDirError) as err:
            resume(run_dir)
        assert str(err.value) == (
            "step migrate was in flight when the run stopped and is not idempotent — check its effect, "
            "then resume with --rerun migrate or --mark-done migrate --by NAME"
        )
        # nothing decided is written; processes the killed runner left are dealt with and journaled first
        assert events(run_dir)[-1]["event"] in ("step.started", "step.orphans")
        assert not events(run_dir, "run.resumed")
        assert resume(run_dir, rerun=["migrate"]) == 0
    else:
        assert resume(run_dir) == 0
    assert count.read_text().count("x") == 2
    fins = [(r["step"], r["attempt"], r["status"]) for r in events(run_dir, "step.finished")]
    assert fins == [
        ("first", 1, "ok"),
        ("migrate", 1, "interrupted"),
        ("migrate", 2, "ok"),
        ("last", 1, "ok"),
    ]
    assert [r["event"] for r in events(run_dir)].count("run.resumed") == 1
    with pytest.raises(RunDirError, match="nothing to resume"):
        resume(run_dir)


def test_kill_9_then_mark_done(tmp_path: Path) -> None:
    body, marker, count = _kill9_scenario(tmp_path, False)
    proc, run_dir = _start_killable(tmp_path, body)
    _kill_when(proc, marker)
    assert resume(run_dir, mark_done=["migrate"], by="Li Si") == 0
    assert count.read_text().count("x") == 1
    assert finals(run_dir)["migrate"]["detail"] == "marked done by Li Si"
    assert events(run_dir, "manual.acknowledged")[0]["via"] == "mark-done"


def test_resume_refuses_a_scenario_copy_changed_since_the_start(tmp_path: Path) -> None:
    """RUN_DIR/scenario.yaml is what resume executes: an edit would run steps the journal never recorded."""
    body, marker, _count = _kill9_scenario(tmp_path, True)
    proc, run_dir = _start_killable(tmp_path, body)
    _kill_when(proc, marker)
    copy = run_dir / "scenario.yaml"
    original = copy.read_bytes()
    copy.write_bytes(original.replace(b'id: last, run: "true"', b'id: last, run: "echo changed"'))
    before = (run_dir / "journal.jsonl").read_bytes()
    with pytest.raises(RunDirError, match="was changed since the run started"):
        resume(run_dir)
    assert (run_dir / "journal.jsonl").read_bytes() == before  # nothing written
    copy.write_bytes(original)
    assert resume(run_dir) == 0


def test_sigint_interrupts_then_resume_completes(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    proc, run_dir = _start_killable(
        tmp_path,
        f"""\
        steps:
          - {{id: long, run: "touch {marker}; sleep 30", idempotent: true}}
          - {{id: after, run: "true"}}
        """,
    )
    end = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < end:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0  # run_scenario returned (exit code is the CLI's job)
    f = finals(run_dir)
    assert f["long"]["status"] == "interrupted" and "after" not in f
    assert events(run_dir, "run.finished")[0]["status"] == "interrupted"
    assert events(run_dir, "run.interrupted")[0]["in_flight"] == ["long"]


def test_a_cut_off_last_line_is_set_aside_on_request_and_recorded(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - {id: a, run: 'true'}\n  - {id: b, run: 'true'}\n")
    run_dir = tmp_path / "run"
    assert run(path, run_dir) == 0
    journal = run_dir / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    kept = b"".join(lines[:3])  # run.started, clock.declared, a's step.started
    journal.write_bytes(kept + lines[3][:25])  # a power loss in the middle of a's step.finished
    with pytest.raises(RunDirError, match="--drop-partial-line"):
        resume(run_dir)
    assert resume(run_dir, drop_partial_line=True, rerun=["a"]) == 0
    assert (run_dir / "journal.partial").read_bytes() == lines[3][:25] + b"\n"
    resumed = events(run_dir, "run.resumed")[0]
    assert resumed["dropped_partial_line"]["line"] == 4 and resumed["dropped_partial_line"]["bytes"] == 25
    assert finals(run_dir)["b"]["status"] == "ok"
    assert verify_journal(journal).ok
