"""Run one playbook through ansible-runner: events to the journal, output to the log, clean cancel.

`run_playbook(spec, ...)` runs `ansible-playbook` in a fresh private data directory (which is also
the artifact directory: `env/`, `command`, `job_events/`, `rc`, `status`). ansible-runner runs in a
worker thread; its event handler only queues events, and the calling thread turns them into
`ansible.task` journal events and log output, so a slow journal never stalls Ansible's output loop.

Cancellation: ansible-runner asks `cancel_callback` every `PEXPECT_TIMEOUT` seconds. When the caller
says stop, every process of this run is stopped (SIGTERM, `GRACE`, SIGKILL) before ansible-runner
kills the ansible-playbook process group: Ansible's workers call `setsid`, so the group alone would
leave them (and their `sleep 300`) running. Processes of this run are found by a marker variable in
their environment (`BCDRILL_ANSIBLE_RUN=<uuid>`, inherited by every local descendant) plus their
descendants by parent pid (for children started with a cleared environment).

Secrets: extravars reach Ansible through `env/extravars` (mode 600, written by ansible-runner and
referenced as `-e @file`, so never on a command line); the file is deleted after the run. `command`
(which ansible-runner writes with the whole environment) is rewritten without the environment, job
events are written masked by us instead of by ansible-runner, and every other text file left in the
directory is masked. Output lines and event payloads are masked before they reach the log/journal.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bcdrill.common.redact import Redactor
from bcdrill.executors.base import Emit, TaskEvent
from bcdrill.executors.transport.proctree import find_processes, terminate

PEXPECT_TIMEOUT = 0.2  # seconds between ansible-runner's looks at cancel_callback
MARKER = "BCDRILL_ANSIBLE_RUN"
SECRET_NAME_PARTS = ("password", "secret", "token", "key")
TASK_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_ok": "ok",
    "runner_item_on_failed": "failed",
    "runner_item_on_skipped": "skipped",
}
DEBUG_ACTIONS = ("debug", "ansible.builtin.debug", "ansible.legacy.debug")
LOCAL_INVENTORY = (
    "localhost ansible_connection=local ansible_python_interpreter='{{ansible_playbook_python}}'\n"
)

Stop = Literal["cancelled", "timeout"]


@dataclass(frozen=True)
class PlaybookSpec:
    """One ansible-playbook invocation; paths are absolute."""

    playbook: str
    private_dir: Path  # created fresh; becomes the artifact directory
    inventory: str | None = None  # None: localhost with connection local
    limit: str | None = None
    tags: tuple[str, ...] = ()
    extravars: Mapping[str, Any] = field(default_factory=dict)
    check: bool = False  # --check --diff (dry run)
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaskProblem:
    task: str
    host: str
    message: str


@dataclass
class PlaybookResult:
    rc: int | None = None
    stopped: Stop | None = None
    error: str | None = None  # ansible-runner itself failed (not the playbook)
    failed: list[TaskProblem] = field(default_factory=list)  # failed tasks, in order (ignored excluded)
    unreachable: list[TaskProblem] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)  # playbook_on_stats: kind -> host -> n
    last_msg: str | None = None  # `msg` of the last `debug` task (the step's last line, for rpo_of)
    last_error_line: str | None = None  # last ERROR/fatal line of the output
    last_line: str | None = None


def run_playbook(
    spec: PlaybookSpec,
    *,
    step: str,
    log: Any,
    emit: Emit,
    should_stop: Callable[[], Stop | None],
) -> PlaybookResult:
    """Run the playbook; return when ansible-playbook and all its local processes are gone."""
    redactor = Redactor([*spec.secrets, *secret_extravars(spec.extravars)])
    token = uuid.uuid4().hex
    result = PlaybookResult()
    control_dir = tempfile.mkdtemp(prefix="bcdrill-ans-")  # short: ControlPath has a 108-byte limit
    spec.private_dir.mkdir(parents=True, mode=0o700)
    events_dir = spec.private_dir / "job_events"
    events_dir.mkdir(mode=0o700)
    collector = EventCollector(
        step, log=log, emit=emit, redactor=redactor, result=result, events_dir=events_dir
    )
    try:
        canceller = _Canceller(should_stop, token, result)
        kwargs = _runner_kwargs(spec, token, control_dir)
        _run_in_thread(kwargs, collector, canceller, result)
    finally:
        if result.stopped:
            terminate(find_processes(env=f"{MARKER}={token}"))
        terminate(find_processes(cmdline_part=control_dir))  # ControlPersist masters of this run
        shutil.rmtree(control_dir, ignore_errors=True)
        scrub_artifacts(spec.private_dir, redactor)
    return result


def _runner_kwargs(spec: PlaybookSpec, token: str, control_dir: str) -> dict[str, Any]:
    pdd = spec.private_dir
    inventory = spec.inventory
    if inventory is None:
        inventory = str(pdd / "inventory")
        Path(inventory).write_text(LOCAL_INVENTORY, encoding="utf-8")
    cmdline = "--check --diff" if spec.check else None
    return {
        "private_data_dir": str(pdd),
        "artifact_dir": str(pdd.parent),
        "ident": pdd.name,
        "project_dir": os.path.dirname(spec.playbook),  # cwd: the playbook's directory (its ansible.cfg)
        "playbook": spec.playbook,
        "inventory": inventory,
        "limit": spec.limit,
        "tags": ",".join(spec.tags) or None,
        "extravars": as_data(dict(spec.extravars)) or None,
        "cmdline": cmdline,
        "envvars": ansible_env(token, control_dir),
        "settings": {
            "pexpect_timeout": PEXPECT_TIMEOUT,
            "suppress_ansible_output": True,  # never print: the output goes to the step log
            "suppress_output_file": True,  # no stdout/stderr copies: the step log has them, masked
        },
        "fact_cache_type": "memory",  # no per-host fact files in the artifacts
        "quiet": True,
    }


def as_data(value: Any) -> Any:
    """Every string marked for Ansible as data, never a template (`{"__ansible_unsafe": text}` in the
    JSON extravars file): a value bcdrill rendered — from `vars`, `--var` or the inventory — must
    not be rendered a second time by Ansible, where `{{ lookup('pipe', ...) }}` would run a command."""
    if isinstance(value, str):
        return {"__ansible_unsafe": value}
    if isinstance(value, dict):
        return {str(k): as_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_data(v) for v in value]
    return value


def ansible_env(token: str, control_dir: str) -> dict[str, str]:
    """Environment for ansible-playbook: strict host keys, private control sockets, no colour."""
    return {
        "PATH": os.pathsep.join([ansible_bin_dir(), os.environ.get("PATH", os.defpath)]),
        MARKER: token,
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(control_dir, "cp"),
        "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": os.path.join(control_dir, "pc"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(control_dir, "tmp"),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
    }


def ansible_bin_dir() -> str:
    """The directory of ansible-playbook: beside this Python first (an unactivated venv), then PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    if os.access(beside, os.X_OK):
        return str(beside.parent)
    found = shutil.which("ansible-playbook")
    if found is None:
        raise FileNotFoundError(
            "ansible-playbook not found — it comes with bcdrill's ansible-core dependency: "
            "reinstall bcdrill, or put ansible-playbook on PATH"
        )
    return os.path.dirname(found)


def secret_extravars(extravars: Mapping[str, Any]) -> list[str]:
    """Values of extravars whose name marks them as secret (DESIGN §6), nested ones included."""
    found: list[str] = []
    for name, value in extravars.items():
        if isinstance(value, Mapping):
            found += secret_extravars(value)
        elif isinstance(value, (str, int, float)) and any(p in str(name).lower() for p in SECRET_NAME_PARTS):
            found.append(str(value))
    return found


_DONE: dict[str, Any] = {"event": "__bcdrill_done__"}


def _run_in_thread(
    kwargs: dict[str, Any], collector: EventCollector, canceller: _Canceller, result: PlaybookResult
) -> None:
    import ansible_runner

    events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

    def handler(event: dict[str, Any]) -> bool:
        events.put(event)
        return False  # we write the job event files ourselves, masked

    try:
        runner = ansible_runner.interface.init_runner(
            event_handler=handler, cancel_callback=canceller, **kwargs
        )
    except Exception as exc:  # a configuration ansible-runner refuses: a failed step, not a crash
        result.error = f"{type(exc).__name__}: {exc}"
        return

    def work() -> None:
        try:
            runner.run()
        except Exception as exc:  # ansible-runner's own failure: report, never hang
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            events.put(_DONE)

    thread = threading.Thread(target=work, name="ansible-runner", daemon=True)
    thread.start()
    try:
        while (event := events.get()) is not _DONE:
            collector.handle(event)
    except BaseException:  # the journal or log failed, or we were interrupted: stop Ansible first
        canceller.stop("cancelled")
        thread.join()
        raise
    thread.join()
    result.rc = runner.rc


class _Canceller:
    """ansible-runner's cancel_callback: on the first stop, stop the run's processes right away."""

    def __init__(self, should_stop: Callable[[], Stop | None], token: str, result: PlaybookResult) -> None:
        self._should_stop = should_stop
        self._token = token
        self._result = result
        self._forced: Stop | None = None

    def __call__(self) -> bool:
        if self._result.stopped is None:
            stop = self._should_stop() or self._forced
            if stop is None:
                return False
            self._result.stopped = stop
            terminate(find_processes(env=f"{MARKER}={self._token}"))
        return True

    def stop(self, reason: Stop) -> None:
        """Make the next call stop the run, whatever `should_stop` says."""
        self._forced = reason


class EventCollector:
    """Turns ansible-runner events into log output, `ansible.task` events and the result's facts."""

    def __init__(
        self,
        step: str,
        *,
        log: Any,
        emit: Emit,
        redactor: Redactor,
        result: PlaybookResult,
        events_dir: Path | None = None,  # where masked job event files go; None: not kept
    ) -> None:
        self.step = step
        self.log = log
        self.emit = emit
        self.redactor = redactor
        self.result = result
        self.events_dir = events_dir

    def handle(self, event: dict[str, Any]) -> None:
        stdout = str(event.get("stdout") or "").replace("\r\n", "\n").replace("\r", "")
        if stdout.strip():
            self._output(stdout)
        kind = str(event.get("event", ""))
        data = event.get("event_data") or {}
        if kind in TASK_EVENTS:
            self._task(kind, data)
        elif kind == "playbook_on_stats":
            for name in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored", "processed"):
                self.result.stats[name] = dict(data.get(name) or {})
        self._save(event)

    def _output(self, text: str) -> None:
        text = self.redactor.mask(text)
        self.log.write(text if text.endswith("\n") else text + "\n")
        for line in text.splitlines():
            line = line.strip()
            if line:
                self.result.last_line = line
                if line.startswith(("ERROR", "[ERROR]", "fatal:")):
                    self.result.last_error_line = line

    def _task(self, kind: str, data: Mapping[str, Any]) -> None:
        raw = data.get("res")
        res: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        status = TASK_EVENTS[kind]
        if status == "ok" and res.get("changed"):
            status = "changed"
        payload: TaskEvent = {
            "step": self.step,
            "host": data.get("host"),
            "task": data.get("task"),
            "status": status,
            "start": data.get("start"),
            "end": data.get("end"),
            "duration": data.get("duration"),
            "play": data.get("play"),
            "action": data.get("task_action") or data.get("resolved_action"),
        }
        if kind.startswith("runner_item_"):
            payload["item"] = _short(res.get("_ansible_item_label", res.get("item")))
        if kind == "runner_on_failed" and data.get("ignore_errors"):
            payload["ignored"] = True
        self.emit.ansible_task(self.redactor.mask_obj(payload))
        self._remember(kind, status, data, res)

    def _remember(self, kind: str, status: str, data: Mapping[str, Any], res: Mapping[str, Any]) -> None:
        msg = res.get("msg")
        if data.get("task_action") in DEBUG_ACTIONS and isinstance(msg, str) and "results" not in res:
            self.result.last_msg = self.redactor.mask(msg.strip()) or self.result.last_msg
        if kind.startswith("runner_item_"):
            return
        problem = TaskProblem(
            str(data.get("task")), str(data.get("host")), self.redactor.mask(task_message(res))
        )
        if status == "failed" and not data.get("ignore_errors"):
            self.result.failed.append(problem)
        elif status == "unreachable":
            self.result.unreachable.append(problem)

    def _save(self, event: Mapping[str, Any]) -> None:
        if self.events_dir is None:
            return
        name = f"{event.get('counter', 0)}-{event.get('uuid', uuid.uuid4())}.json"
        with contextlib.suppress(OSError, TypeError, ValueError):
            text = json.dumps(self.redactor.mask_obj(event), default=str)
            path = self.events_dir / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)


def task_message(res: Mapping[str, Any]) -> str:
    """The most useful one-line reason of a failed/unreachable result."""
    for item in res.get("results") or ():
        if isinstance(item, Mapping) and item.get("failed"):
            return task_message(item)
    msg = str(res.get("msg") or "").strip()
    stderr = str(res.get("stderr") or "").strip()
    if stderr:
        last = stderr.splitlines()[-1].strip()
        msg = f"{msg}: {last}" if msg and msg != last else last
    if not msg and res.get("rc") is not None:
        msg = f"rc={res['rc']}"
    return _host_key_reason(msg) or " ".join(msg.split())[:500] or "no message"


def _host_key_reason(msg: str) -> str | None:
    """ssh's multi-line host key warnings, as one line that says what happened."""
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in msg:
        return (
            "Host key verification failed: the host key differs from known_hosts"
            " (REMOTE HOST IDENTIFICATION HAS CHANGED)"
        )
    if "Host key verification failed" in msg:
        return "Host key verification failed: the host key is not in known_hosts"
    return None


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:200]


# ---- artifacts ----------------------------------------------------------------------------------


def scrub_artifacts(private_dir: Path, redactor: Redactor) -> None:
    """Remove secrets from what ansible-runner left: extravars file, environment, any masked text."""
    with contextlib.suppress(FileNotFoundError):
        (private_dir / "env" / "extravars").unlink()
    command = private_dir / "command"
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(command.read_text(encoding="utf-8"))
        kept = {"command": data.get("command"), "cwd": data.get("cwd")}  # the environment is dropped
        command.write_text(json.dumps(redactor.mask_obj(kept)), encoding="utf-8")
    if not redactor.active:
        return
    for path in private_dir.rglob("*"):
        if path.is_file() and path.parent.name != "job_events":
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = path.read_text(encoding="utf-8")
                masked = redactor.mask(text)
                if masked != text:
                    path.write_text(masked, encoding="utf-8")
