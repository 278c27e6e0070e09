"""The validated scenario: immutable, typed, rendered.

Only `loader.py` builds these from raw YAML. Everything downstream (plan,
scheduler, executors, reports) trusts them. All strings are already rendered
through Jinja2 (vars, --var, inventory variables); durations are seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

OnFailure = Literal["abort", "continue", "ignore"]
DryRun = Literal["run", "skip"]
DrillType = Literal["tabletop", "walkthrough", "simulation", "functional", "live"]
Environment = Literal["lab", "staging", "production"]


@dataclass(frozen=True)
class Pos:
    """Where something was written: file and 1-based line/column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Team:
    id: str
    title: str


@dataclass(frozen=True)
class Participant:
    name: str
    team: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class System:
    id: str
    title: str
    tier: int | None = None
    rto: float | None = None  # target, seconds
    rpo: float | None = None  # target, seconds
    description: str | None = None
    production_site: str | None = None
    dr_site: str | None = None


@dataclass(frozen=True)
class Host:
    """An SSH target from the scenario's `hosts:` map (or built from inventory)."""

    name: str
    address: str
    port: int = 22
    user: str | None = None
    key: str | None = None  # absolute path of a private key file
    known_hosts: str | None = None  # absolute path; default ~/.ssh/known_hosts
    accept_unknown_host_key: bool = False  # explicit opt-out of refusing unknown hosts


# ---- actions (exactly one per step) ------------------------------------------------------------


@dataclass(frozen=True)
class RunAction:
    """A local command: a string runs through /bin/sh -c, a tuple runs as argv."""

    command: str | tuple[str, ...]
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    kind: Literal["run"] = "run"


@dataclass(frozen=True)
class SshAction:
    host: str
    command: str
    user: str | None = None
    port: int | None = None
    kind: Literal["ssh"] = "ssh"


@dataclass(frozen=True)
class AnsibleAction:
    playbook: str  # absolute path
    limit: str | None = None
    tags: tuple[str, ...] = ()
    extravars: Mapping[str, Any] = field(default_factory=dict)
    inventory: str | None = None  # absolute path; default the scenario's inventory
    kind: Literal["ansible"] = "ansible"


@dataclass(frozen=True)
class AwxAction:
    """Launch a job template (or a workflow job template) on AWX / Automation Platform and follow it."""

    template: str  # a name, or an id (all digits)
    inventory: str | None = None  # a name or an id; given at launch (the template must prompt for it)
    limit: str | None = None
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    job_tags: tuple[str, ...] = ()
    workflow: bool = False  # a workflow job template
    kind: Literal["awx"] = "awx"


@dataclass(frozen=True)
class HttpProbe:
    url: str
    method: str = "GET"
    status: int | None = 200
    contains: str | None = None
    json: Mapping[str, Any] = field(default_factory=dict)  # JSON path -> expected value
    timeout: float | None = None
    probe: Literal["http"] = "http"


@dataclass(frozen=True)
class TcpProbe:
    host: str
    port: int
    probe: Literal["tcp"] = "tcp"


@dataclass(frozen=True)
class SmtpProbe:
    host: str
    port: int = 25
    probe: Literal["smtp"] = "smtp"


@dataclass(frozen=True)
class CommandProbe:
    command: str | tuple[str, ...]
    exit_code: int = 0
    contains: str | None = None
    matches: str | None = None  # a regular expression searched in the output
    probe: Literal["command"] = "command"


@dataclass(frozen=True)
class SshProbe:
    host: str
    command: str
    exit_code: int = 0
    contains: str | None = None
    matches: str | None = None
    probe: Literal["ssh"] = "ssh"


@dataclass(frozen=True)
class PythonProbe:
    path: str  # absolute path of the module file
    function: str
    args: Mapping[str, Any] = field(default_factory=dict)
    probe: Literal["python"] = "python"


Probe = HttpProbe | TcpProbe | SmtpProbe | CommandProbe | SshProbe | PythonProbe


@dataclass(frozen=True)
class CheckAction:
    probe: Probe
    kind: Literal["check"] = "check"


@dataclass(frozen=True)
class AwxApproval:
    """What a manual step decides in AWX: the pending approval of workflow node `node` in the workflow
    job that step `step` launched is approved when the person confirms pass, denied on fail."""

    step: str  # the id of an `awx` step with `workflow: true`
    node: str  # the approval node's identifier or its approval template's name


@dataclass(frozen=True)
class ManualAction:
    prompt: str
    awx_approve: AwxApproval | None = None
    kind: Literal["manual"] = "manual"


@dataclass(frozen=True)
class WaitAction:
    seconds: float | None = None
    until: datetime | None = None  # timezone-aware
    kind: Literal["wait"] = "wait"


Action = RunAction | SshAction | AnsibleAction | AwxAction | CheckAction | ManualAction | WaitAction
ACTION_KINDS = ("run", "ssh", "ansible", "awx", "check", "manual", "wait")


AwxApi = Literal["auto", "awx", "aap"]


@dataclass(frozen=True)
class AwxConnection:
    """The AWX / Automation Platform controller the `awx` steps talk to (top-level `awx:`)."""

    url: str  # scheme://host[:port][/prefix], without /api/
    token: str = field(repr=False)  # the value of `token_var` (a secret: in Scenario.secrets)
    token_var: str = ""
    verify_tls: bool = True
    ca_file: str | None = None  # absolute path of a CA bundle
    api: AwxApi = "auto"  # auto: GET /api/ tells; awx: /api/v2/; aap: /api/controller/v2/ (2.5+ gateway)
    request_timeout: float = 30.0  # seconds, every HTTP request
    pending_timeout: float = 300.0  # a job still pending/waiting after this long never started: cancelled
    poll_interval: float = 1.0  # seconds between looks at a running job


@dataclass(frozen=True)
class Until:
    every: float
    within: float


@dataclass(frozen=True)
class Defaults:
    timeout: float | None = 1800.0
    retries: int = 0
    retry_delay: float = 10.0
    on_failure: OnFailure = "abort"


@dataclass(frozen=True)
class Step:
    id: str
    action: Action
    pos: Pos
    title: str | None = None
    phase: str | None = None
    team: str | None = None
    systems: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # resolved: the default "previous step" is already applied
    timeout: float | None = None  # resolved against defaults; None = no timeout
    expect: float | None = None
    retries: int = 0
    retry_delay: float = 10.0
    until: Until | None = None
    on_failure: OnFailure = "abort"
    when: str | None = None  # the expression as written
    enabled: bool = True  # the value of `when` (True when there is none)
    idempotent: bool = False
    dry_run: DryRun = "run"  # skip: in a dry run the step is shown, not run (not even a check)
    declares: bool = False
    recovers: tuple[str, ...] = ()
    rpo_of: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.action.kind

    @property
    def label(self) -> str:
        return self.title or self.id


# ---- notifications (`notify:`) -------------------------------------------------------------------

NotifyPlatform = Literal["wecom", "dingtalk", "feishu", "webhook"]
NotifyEvent = Literal["started", "ended", "waiting", "failed", "rto_predicted", "rto_breached"]


@dataclass(frozen=True)
class NotifyChannel:
    """One chat robot or webhook. `url` is where to POST (for WeCom and DingTalk without the key/token,
    which are `key`); `secret` signs (DingTalk, Feishu, webhook). `url`, `key`, `secret` and the
    header values may be secrets: the loader puts them in `Scenario.secrets`."""

    id: str
    platform: NotifyPlatform
    url: str
    pos: Pos
    key: str | None = None  # WeCom key, DingTalk access_token
    secret: str | None = None
    signature_header: str = "X-Bcdrill-Signature"  # webhook only
    headers: Mapping[str, str] = field(default_factory=dict)  # webhook only
    events: tuple[NotifyEvent, ...] = (
        "started",
        "ended",
        "waiting",
        "failed",
        "rto_predicted",
        "rto_breached",
    )
    teams: tuple[str, ...] = ()  # the teams whose channel this is
    per_minute: int = 20


@dataclass(frozen=True)
class Notify:
    channels: tuple[NotifyChannel, ...]
    console_url: str | None = None
    lang: Literal["en", "zh"] = "en"
    timeout: float = 10.0  # seconds, one HTTP request


@dataclass(frozen=True)
class Scenario:
    path: str  # absolute path of the file
    sha256: str  # of the exact input bytes
    version: int
    name: str
    title: str
    environment: Environment
    type: DrillType = "live"
    timezone: str = "UTC"
    owner: str | None = None
    description: str | None = None
    planned: bool = True  # False: an unannounced drill
    references: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()  # out of scope, as written
    teams: Mapping[str, Team] = field(default_factory=dict)
    participants: tuple[Participant, ...] = ()
    systems: Mapping[str, System] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)  # merged: scenario vars, then --var
    secret_vars: tuple[str, ...] = ()  # names whose values are masked everywhere
    secrets: tuple[str, ...] = ()  # the secret values themselves (never written anywhere)
    inventory: str | None = None  # absolute path
    hosts: Mapping[str, Host] = field(default_factory=dict)
    awx: AwxConnection | None = None
    defaults: Defaults = field(default_factory=Defaults)
    steps: tuple[Step, ...] = ()
    rollback: tuple[Step, ...] = ()
    notify: Notify | None = None
    warnings: tuple[str, ...] = ()  # not errors, but worth a line on stderr (e.g. an unused --var)

    def step(self, step_id: str) -> Step:
        return self._steps_by_id[step_id]

    @functools.cached_property
    def _steps_by_id(self) -> dict[str, Step]:
        return {s.id: s for s in (*self.steps, *self.rollback)}

    @property
    def declaring_step(self) -> Step | None:
        return next((s for s in self.steps if s.declares), None)
