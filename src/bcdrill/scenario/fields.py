"""The scenario format v1 as declarative field tables.

Each mapping of the format (the top level, a step, an action, a probe, ...) is a table
of `Field`s: name, kind, required, default, documentation. The loader validates every
mapping against its table (`loader_ctx.Ctx.fields`) and `schema.json_schema()` derives
the JSON Schema from the same tables, so the two cannot drift.

Kinds: str, int, bool, number, duration, str_list, enum, any_map (free mapping),
table (a mapping checked against `table`), map_of / list_of (a mapping / list whose
values are `table` mappings), command (string or argv list), run (command or `run`
table), wait (duration or `wait` table), when (expression string or boolean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DRILL_TYPES = ("tabletop", "walkthrough", "simulation", "functional", "live")
ENVIRONMENTS = ("lab", "staging", "production")
ON_FAILURE = ("abort", "continue", "ignore")
DRY_RUN = ("run", "skip")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
NAME_PATTERN = r"[a-z0-9][a-z0-9-]*"
PROBES = ("http", "tcp", "smtp", "command", "ssh", "python")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    doc: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    table: str | None = None  # for table / map_of / list_of
    shell: bool = False  # a command string: substitutions are shell-quoted
    path: bool = False  # a file that must exist, relative to the scenario's directory
    nullable: bool = False  # null is allowed (and means "none")
    positive: bool = False  # durations/integers must be > 0 (>= 0 otherwise)
    template: bool = True  # strings are rendered with Jinja2
    fix: str = ""  # how to fix a missing required key
    secret: bool = False  # the rendered value is a secret: masked everywhere (Scenario.secrets)


def _f(name: str, kind: str, doc: str, **kw: Any) -> Field:
    return Field(name, kind, doc, **kw)


_DUR = "a duration: 500ms, 90s, 15m, 4h, 1h30m, 1d or a number of seconds"

SCENARIO = (
    _f("version", "int", "Format version; must be 1.", required=True, fix="add version: 1"),
    _f(
        "name",
        "str",
        f"Scenario id, {NAME_PATTERN}; names run directories.",
        required=True,
        template=False,
        fix="add name: <id>, e.g. name: annual-2026",
    ),
    _f("title", "str", "Human title, any language.", required=True, fix="add title: <text>"),
    _f("description", "str", "Extension: free text describing aims and scope."),
    _f("type", "enum", "Kind of exercise.", choices=DRILL_TYPES, default="live"),
    _f("planned", "bool", "Extension: false marks an unannounced drill.", default=True),
    _f(
        "environment",
        "enum",
        "Where it runs; production is guarded.",
        required=True,
        choices=ENVIRONMENTS,
        fix="add environment: lab, staging or production",
    ),
    _f("timezone", "str", "IANA time zone for displayed times.", default="UTC"),
    _f("owner", "str", "The owning team (a key of teams)."),
    _f("references", "str_list", "Plans and standards this drill exercises."),
    _f("exclusions", "str_list", "Extension: what is out of the drill's scope (listed in the report)."),
    _f("teams", "map_of", "Teams/departments by id.", table="team"),
    _f("participants", "list_of", "Named participants.", table="participant"),
    _f("systems", "map_of", "Systems in scope, by id, with RTO/RPO targets.", table="system"),
    _f("vars", "any_map", "Template variables (not themselves templates); --var overrides."),
    _f("secret_vars", "str_list", "Extra variable names whose values are masked.", template=False),
    _f("inventory", "str", "Ansible inventory file.", path=True),
    _f("hosts", "map_of", "SSH hosts by name.", table="host"),
    _f("awx", "table", "The AWX / Automation Platform controller of the awx steps.", table="awx_connection"),
    _f("defaults", "table", "Defaults for every step.", table="defaults"),
    _f(
        "steps",
        "list_of",
        "The drill steps.",
        table="step",
        required=True,
        fix="add steps: with at least one step",
    ),
    _f("rollback", "list_of", "Steps run in sequence when the drill aborts.", table="step"),
    _f(
        "notify",
        "table",
        "Extension: chat notifications (WeCom, DingTalk, Feishu/Lark, webhook).",
        table="notify",
    ),
)

TEAM = (_f("title", "str", "Team name (default: the id)."),)

SYSTEM = (
    _f("title", "str", "System name (default: the id)."),
    _f("tier", "int", "Criticality tier (1 = most critical)."),
    _f("rto", "duration", f"RTO target, {_DUR}."),
    _f("rpo", "duration", f"RPO target, {_DUR}."),
    _f("description", "str", "Free text."),
    _f("production_site", "str", "Extension: where the system runs normally (e.g. 生产中心 core-db-1)."),
    _f("dr_site", "str", "Extension: where it fails over to (e.g. 灾备中心 dr-db-1)."),
)

PARTICIPANT = (
    _f("name", "str", "Person's name.", required=True, fix="add name: <person>"),
    _f("team", "str", "Team id (a key of teams)."),
    _f("role", "str", "Role in the drill."),
)

HOST = (
    _f("address", "str", "Host name or IP address.", required=True, fix="add address: <host or IP>"),
    _f("port", "int", "SSH port.", default=22, positive=True),
    _f("user", "str", "SSH user."),
    _f("key", "str", "Private key file.", path=True),
    _f("known_hosts", "str", "known_hosts file (default ~/.ssh/known_hosts).", path=True),
    _f(
        "accept_unknown_host_key",
        "bool",
        "Explicit opt-in: connect to a host whose key is not in known_hosts (lab use only).",
        default=False,
    ),
)

DEFAULTS = (
    _f("timeout", "duration", "Step timeout; null = none.", default=1800.0, nullable=True, positive=True),
    _f("retries", "int", "Retries after a failed attempt.", default=0),
    _f("retry_delay", "duration", "Pause between attempts.", default=10.0),
    _f("on_failure", "enum", "What a failure does.", choices=ON_FAILURE, default="abort"),
)

STEP = (
    _f(
        "id",
        "str",
        f"Unique step id ({NAME_PATTERN} recommended).",
        required=True,
        template=False,
        fix="add id: <unique id>",
    ),
    _f("title", "str", "Human title."),
    _f("phase", "str", "Phase name, shown by plan and reports."),
    _f("team", "str", "Executing team (a key of teams)."),
    _f("systems", "str_list", "Systems this step touches."),
    _f("needs", "str_list", "Step ids this step waits for; default: the previous step.", template=False),
    _f("run", "run", "Action: a local command (string: /bin/sh -c; list: argv; or a mapping)."),
    _f("ssh", "table", "Action: a remote command over SSH.", table="ssh"),
    _f("ansible", "table", "Action: an Ansible playbook.", table="ansible"),
    _f(
        "awx", "table", "Action: launch an AWX / Automation Platform job template and follow it.", table="awx"
    ),
    _f("check", "table", "Action: a read-only probe.", table="check"),
    _f("manual", "table", "Action: a person confirms pass or fail.", table="manual"),
    _f("wait", "wait", "Action: wait a duration, or until an ISO-8601 time."),
    _f("timeout", "duration", "Timeout of one attempt; null = none.", nullable=True, positive=True),
    _f("expect", "duration", "Expected duration (plan, breach prediction)."),
    _f("retries", "int", "Retries after a failed attempt."),
    _f("retry_delay", "duration", "Pause between attempts."),
    _f("until", "table", "Poll a check until it passes.", table="until"),
    _f("on_failure", "enum", "abort | continue | ignore.", choices=ON_FAILURE),
    _f("when", "when", "Jinja2 expression; false: the step is skipped."),
    _f("idempotent", "bool", "Safe to re-run on resume.", default=False),
    _f(
        "dry_run",
        "enum",
        "In a dry run: run (as usual: a check runs, other actions are shown, not run) | skip (shown, not "
        "run: a check of an effect the dry run does not cause, e.g. DR serving after the switch).",
        choices=DRY_RUN,
        default="run",
    ),
    _f("declares", "bool", "This step's end is T0 (the disaster clock).", default=False),
    _f("recovers", "str_list", "Systems whose RTO stops at this step's successful end."),
    _f("rpo_of", "str_list", "Systems whose newest-data time this step's last output line reports."),
)

UNTIL = (
    _f("every", "duration", "Poll interval.", required=True, positive=True, fix="add every: 10s"),
    _f("within", "duration", "Give up after.", required=True, positive=True, fix="add within: 15m"),
)

RUN = (
    _f(
        "command",
        "command",
        "A string (/bin/sh -c) or an argv list.",
        required=True,
        shell=True,
        fix="add command: <command>",
    ),
    _f("cwd", "str", "Working directory (relative: to the scenario's directory)."),
    _f("env", "any_map", "Extra environment variables."),
)

SSH = (
    _f("host", "str", "A key of hosts: or an inventory host.", required=True, fix="add host: <name>"),
    _f("command", "str", "Remote command.", required=True, shell=True, fix="add command: <command>"),
    _f("user", "str", "Overrides the host's user."),
    _f("port", "int", "Overrides the host's port.", positive=True),
)

ANSIBLE = (
    _f("playbook", "str", "Playbook file.", required=True, path=True, fix="add playbook: <file.yml>"),
    _f("limit", "str", "Host pattern (--limit)."),
    _f("tags", "str_list", "Tags to run."),
    _f("extravars", "any_map", "Extra variables (-e)."),
    _f("inventory", "str", "Inventory (default: the scenario's).", path=True),
)

AWX_APIS = ("auto", "awx", "aap")

AWX_CONNECTION = (
    _f(
        "url",
        "str",
        "Controller URL, e.g. https://aap.example.com (without /api/).",
        required=True,
        fix="add url: https://<controller>",
    ),
    _f(
        "token_var",
        "str",
        "Name of the variable holding the OAuth2/API token: --var NAME=… or the environment variable NAME.",
        required=True,
        template=False,
        fix="add token_var: <variable name>, e.g. token_var: AWX_TOKEN",
    ),
    _f("verify_tls", "bool", "Verify the controller's TLS certificate.", default=True),
    _f("ca_file", "str", "CA bundle to verify the controller's certificate with.", path=True),
    _f(
        "api",
        "enum",
        "API root: awx (/api/v2/), aap (/api/controller/v2/, AAP 2.5+ gateway) or auto (asks GET /api/).",
        choices=AWX_APIS,
        default="auto",
    ),
    _f("request_timeout", "duration", "Timeout of each HTTP request.", default=30.0, positive=True),
    _f(
        "pending_timeout",
        "duration",
        "A job not started after this long (no capacity) is cancelled and the step fails.",
        default=300.0,
        positive=True,
    ),
    _f("poll_interval", "duration", "Pause between looks at a running job.", default=1.0, positive=True),
)

AWX = (
    _f(
        "template",
        "str",
        "Job template name or id (workflow job template with workflow: true).",
        required=True,
        fix="add template: <name or id>",
    ),
    _f("workflow", "bool", "The template is a workflow job template.", default=False),
    _f("inventory", "str", "Inventory name or id (the template must prompt for it)."),
    _f("limit", "str", "Host pattern (the template must prompt for it)."),
    _f("extra_vars", "any_map", "Extra variables (the template must prompt for them or have a survey)."),
    _f("job_tags", "str_list", "Tags to run (the template must prompt for them)."),
)

AWX_APPROVE = (
    _f(
        "step",
        "str",
        "The awx step (workflow: true) whose workflow waits for approval.",
        required=True,
        template=False,
        fix="add step: <id of the awx workflow step>",
    ),
    _f(
        "node",
        "str",
        "The approval node: its identifier or its name.",
        required=True,
        fix="add node: <approval node name>",
    ),
)

CHECK = (
    _f("http", "table", "HTTP probe.", table="http"),
    _f("tcp", "table", "TCP connect probe.", table="tcp"),
    _f("smtp", "table", "SMTP greeting probe.", table="smtp"),
    _f("command", "table", "Local command probe.", table="command_probe"),
    _f("ssh", "table", "Remote command probe.", table="ssh_probe"),
    _f("python", "str", "checks/module.py:function, called as function(**args)."),
    _f("args", "any_map", "Keyword arguments of the python check."),
)

HTTP = (
    _f("url", "str", "URL.", required=True, fix="add url: https://..."),
    _f("method", "enum", "HTTP method.", choices=HTTP_METHODS, default="GET"),
    _f("status", "int", "Expected status; null = any.", default=200, nullable=True),
    _f("contains", "str", "Text the body must contain."),
    _f("json", "any_map", "Dotted JSON path (data.items.0.state) -> expected value."),
    _f("timeout", "duration", "Request timeout.", positive=True),
)

TCP = (
    _f("host", "str", "Host.", required=True, fix="add host: <host>"),
    _f("port", "int", "Port.", required=True, positive=True, fix="add port: <number>"),
)

SMTP = (
    _f("host", "str", "Host.", required=True, fix="add host: <host>"),
    _f("port", "int", "Port.", default=25, positive=True),
)

_EXPECT = (
    _f("exit_code", "int", "Expected exit code.", default=0),
    _f("contains", "str", "Text the output must contain."),
    _f("matches", "str", "Regular expression searched in the output."),
)

COMMAND_PROBE = (
    _f(
        "command",
        "command",
        "A string (/bin/sh -c) or an argv list.",
        required=True,
        shell=True,
        fix="add command: <command>",
    ),
    *_EXPECT,
)

SSH_PROBE = (
    _f("host", "str", "A key of hosts: or an inventory host.", required=True, fix="add host: <name>"),
    _f("command", "str", "Remote command.", required=True, shell=True, fix="add command: <command>"),
    *_EXPECT,
)

MANUAL = (
    _f("prompt", "str", "What the operator confirms.", required=True, fix="add prompt: <text>"),
    _f(
        "awx_approve",
        "table",
        "Approve (pass) or deny (fail) a pending approval node of an awx workflow step.",
        table="awx_approve",
    ),
)

WAIT = (_f("until", "str", "ISO-8601 time with a UTC offset.", required=True, fix="add until: <time>"),)

NOTIFY_PLATFORMS = ("wecom", "dingtalk", "feishu", "webhook")
NOTIFY_EVENTS = ("started", "ended", "waiting", "failed", "rto_predicted", "rto_breached")
NOTIFY_LANGS = ("en", "zh")

NOTIFY = (
    _f(
        "console_url",
        "str",
        "Base URL of the web console, for the links in messages (e.g. https://drill-room:8470); "
        "default: the console of drill run --console.",
    ),
    _f("lang", "enum", "Language of the messages.", choices=NOTIFY_LANGS, default="en"),
    _f("timeout", "duration", "Timeout of one HTTP request.", default=10.0, positive=True),
    _f(
        "channels",
        "map_of",
        "Where messages go, by channel id.",
        table="notify_channel",
        required=True,
        fix="add channels: with at least one channel, e.g. ops: {wecom: {key: '{{ wecom_ops_key }}'}}",
    ),
)

NOTIFY_CHANNEL = (
    _f("wecom", "table", "A WeCom (企业微信) group robot.", table="wecom"),
    _f("dingtalk", "table", "A DingTalk (钉钉) custom robot.", table="dingtalk"),
    _f("feishu", "table", "A Feishu/Lark (飞书) custom bot.", table="feishu"),
    _f("webhook", "table", "A generic JSON webhook.", table="webhook"),
    _f(
        "events",
        "str_list",
        "Which messages this channel gets (default: all): " + ", ".join(NOTIFY_EVENTS) + ".",
        template=False,
    ),
    _f(
        "teams",
        "str_list",
        "Team ids whose channel this is: their waiting and failed steps come here.",
        template=False,
    ),
    _f(
        "per_minute",
        "int",
        "Requests a minute at most (default: WeCom and DingTalk 20, Feishu 100, webhook 60); "
        "messages beyond that are merged into digests.",
        positive=True,
    ),
)

WECOM = (
    _f(
        "key",
        "str",
        "The robot's webhook key (the key= of its URL); a secret.",
        required=True,
        secret=True,
        fix="add key: '{{ wecom_key }}' and pass --var wecom_key=...",
    ),
    _f("url", "str", "Send URL without the key.", default="https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),
)

DINGTALK = (
    _f(
        "access_token",
        "str",
        "The robot's access_token; a secret.",
        required=True,
        secret=True,
        fix="add access_token: '{{ dingtalk_token }}'",
    ),
    _f(
        "secret",
        "str",
        "The signing secret (SEC...) of the robot's 加签 security setting; a secret.",
        secret=True,
    ),
    _f("url", "str", "Send URL without the query.", default="https://oapi.dingtalk.com/robot/send"),
)

FEISHU = (
    _f(
        "webhook",
        "str",
        "The bot's webhook URL (.../open-apis/bot/v2/hook/ID); a secret.",
        required=True,
        secret=True,
        fix="add webhook: '{{ feishu_webhook }}'",
    ),
    _f("secret", "str", "The signing secret of the bot's 签名校验 setting; a secret.", secret=True),
)

WEBHOOK = (
    _f(
        "url",
        "str",
        "URL the JSON is POSTed to; a secret when it carries a query or credentials.",
        required=True,
        fix="add url: https://...",
    ),
    _f("secret", "str", "HMAC-SHA256 key: the body is signed in signature_header; a secret.", secret=True),
    _f(
        "signature_header",
        "str",
        "Header carrying sha256=<hex HMAC of timestamp.body>.",
        default="X-Bcdrill-Signature",
    ),
    _f(
        "headers",
        "any_map",
        "Extra headers; values of Authorization and of names with token/key/secret are secrets.",
    ),
)

TABLES: dict[str, tuple[Field, ...]] = {
    "scenario": SCENARIO,
    "team": TEAM,
    "system": SYSTEM,
    "participant": PARTICIPANT,
    "host": HOST,
    "defaults": DEFAULTS,
    "step": STEP,
    "until": UNTIL,
    "run": RUN,
    "ssh": SSH,
    "ansible": ANSIBLE,
    "awx_connection": AWX_CONNECTION,
    "awx": AWX,
    "awx_approve": AWX_APPROVE,
    "check": CHECK,
    "http": HTTP,
    "tcp": TCP,
    "smtp": SMTP,
    "command_probe": COMMAND_PROBE,
    "ssh_probe": SSH_PROBE,
    "manual": MANUAL,
    "wait": WAIT,
    "notify": NOTIFY,
    "notify_channel": NOTIFY_CHANNEL,
    "wecom": WECOM,
    "dingtalk": DINGTALK,
    "feishu": FEISHU,
    "webhook": WEBHOOK,
}
