"""Load and validate a scenario file into a `Scenario`: the only place that touches raw YAML.

Every problem is collected (never only the first) and raised together as a
`ScenarioError`, each as `FILE:LINE:COL: message`, FILE being the path as given.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from bcdrill.common.errors import Problem, ScenarioError
from bcdrill.common.gcpause import no_gc
from bcdrill.common.redact import Redactor
from bcdrill.scenario import crosscheck as checks
from bcdrill.scenario import fields as F
from bcdrill.scenario.model import AwxConnection, Defaults, Host, Participant, Pos, Scenario, System, Team
from bcdrill.scenario.notify import build_notify
from bcdrill.scenario.steps import StepInfo, build_steps
from bcdrill.scenario.validator import INVALID, Ctx, did_you_mean, plain
from bcdrill.scenario.variables import Variables, action_secrets, collect_variables
from bcdrill.scenario.yamlpos import YList, YMap, load_yaml, type_name

_NAME = re.compile(F.NAME_PATTERN)


def load_scenario(
    path: str | Path,
    *,
    cli_vars: Mapping[str, str] | None = None,
    inventory: str | None = None,
    base_dir: str | Path | None = None,
) -> Scenario:
    """The validated scenario in `path`; raises ScenarioError listing every problem."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem(file, 1, 1, "no such file")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(file, 1, 1, f"cannot read the file: {exc.strerror or exc}")]) from None
    base = Path(base_dir) if base_dir is not None else Path(path).resolve().parent
    return parse_scenario(data, file, base, cli_vars=cli_vars, inventory=inventory)


def validate_paths(
    paths: Iterable[str | Path],
    cli_vars: Mapping[str, str] | None = None,
    *,
    inventory: str | None = None,
    on_warning: Callable[[str], None] | None = None,
    on_valid: Callable[[Scenario], None] | None = None,
) -> list[Problem]:
    """Every problem of every file (an empty list when all are valid); warnings go to `on_warning`,
    each valid scenario to `on_valid`."""
    problems: list[Problem] = []
    for path in paths:
        try:
            scn = load_scenario(path, cli_vars=cli_vars, inventory=inventory)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if on_warning is not None:
            for warning in scn.warnings:
                on_warning(warning)
        if on_valid is not None:
            on_valid(scn)
    return problems


def parse_scenario(
    data: bytes,
    file: str,
    base_dir: Path,
    *,
    cli_vars: Mapping[str, str] | None = None,
    inventory: str | None = None,
) -> Scenario:
    """The validated scenario in `data` (the bytes of `file`)."""
    with no_gc():
        return _parse(data, file, base_dir, cli_vars or {}, inventory)


def _parse(
    data: bytes, file: str, base_dir: Path, cli_vars: Mapping[str, str], inventory: str | None
) -> Scenario:
    root, problems = load_yaml(data, file)
    if problems:
        raise ScenarioError(problems)
    if root is None:
        msg = "the file is empty — a scenario needs version, name, title, environment and steps"
        raise ScenarioError([Problem(file, 1, 1, msg)])
    if not isinstance(root, YMap):
        raise ScenarioError(
            [Problem(file, 1, 1, f"expected a mapping at the top level, got {type_name(root)}")]
        )
    variables = collect_variables(root, file, base_dir, cli_vars, inventory)
    ctx = Ctx(file, base_dir, variables.templater)
    ctx.problems.extend(variables.problems)
    scn = _build(ctx, root, data, file, variables)
    redactor = Redactor(variables.secrets)  # a message may quote a value: never a secret one
    if ctx.problems:
        raise ScenarioError([dataclasses.replace(p, message=redactor.mask(p.message)) for p in ctx.problems])
    warnings = (*(str(w) for w in ctx.warnings), *_unused_cli_vars(file, cli_vars, variables.templater.used))
    return dataclasses.replace(scn, warnings=tuple(redactor.mask(w) for w in warnings))


def _unused_cli_vars(file: str, cli_vars: Mapping[str, str], used: set[str]) -> tuple[str, ...]:
    """A --var no template refers to has no effect: most often a typo of the name meant."""
    warnings = []
    for name in cli_vars:
        if name not in used:
            close = difflib.get_close_matches(name, sorted(used), n=1)
            hint = f" — did you mean --var {close[0]}=…?" if close else " — check the name"
            warnings.append(f"{file}: --var {name}=… is not used by this scenario{hint}")
    return tuple(warnings)


def _entries(ctx: Ctx, value: Any, section: str) -> Iterator[tuple[str, YMap, str]]:
    """(key, mapping, where) of each entry of a `map_of` section; null entries are empty mappings."""
    if not isinstance(value, YMap):
        return
    for key, item in value.items():
        if item is None:
            item = YMap(value.val_pos[key])
        if not isinstance(item, YMap):
            ctx.add(value.val_pos[key], f"{section}.{key}: expected a mapping, got {type_name(item)}")
            continue
        yield key, item, f"{section}.{key}"


def _teams(ctx: Ctx, value: Any) -> dict[str, Team]:
    out = {}
    for tid, m, where in _entries(ctx, value, "teams"):
        f = ctx.fields(m, F.TEAM, where)
        out[tid] = Team(id=tid, title=f["title"] if isinstance(f["title"], str) else tid)
    return out


def _systems(ctx: Ctx, value: Any) -> dict[str, System]:
    out = {}
    for sid, m, where in _entries(ctx, value, "systems"):
        f: dict[str, Any] = {
            k: (None if v is INVALID else v) for k, v in ctx.fields(m, F.SYSTEM, where).items()
        }
        out[sid] = System(id=sid, **{**f, "title": f["title"] or sid})
    return out


def _hosts(ctx: Ctx, value: Any) -> dict[str, Host]:
    out = {}
    for name, m, where in _entries(ctx, value, "hosts"):
        f = ctx.fields(m, F.HOST, where)
        if all(v is not INVALID for v in f.values()):
            out[name] = Host(name=name, **f)
    return out


def _participants(ctx: Ctx, value: Any, teams: Mapping[str, Team]) -> tuple[Participant, ...]:
    if not isinstance(value, YList):
        return ()
    out = []
    for i, (m, pos) in enumerate(zip(value, value.item_pos, strict=False)):
        if not isinstance(m, YMap):
            ctx.add(pos, f"participants[{i}]: expected a mapping, got {type_name(m)}")
            continue
        f = ctx.fields(m, F.PARTICIPANT, f"participants[{i}]")
        if isinstance(f["team"], str) and f["team"] not in teams:
            hint = did_you_mean(f["team"], teams) or " — define it under teams:"
            ctx.add(m.val_pos["team"], f"unknown team '{f['team']}'{hint}")
        if all(v is not INVALID for v in f.values()):
            out.append(Participant(**f))
    return tuple(out)


def _awx(ctx: Ctx, value: Any, variables: Variables) -> AwxConnection | None:
    """The controller of the `awx` steps; its token is the value of the variable `token_var` names
    (`--var NAME=…` or `vars:`), else of the environment variable NAME."""
    if not isinstance(value, YMap):
        return None
    f = ctx.fields(value, F.AWX_CONNECTION, "awx")
    name = f["token_var"]
    token = None
    if isinstance(name, str):
        variables.templater.used.add(name)
        token = variables.values.get(name, os.environ.get(name))
        if token is None or str(token) == "":
            fix = f"pass --var {name}=TOKEN or set the environment variable {name}"
            ctx.add(value.val_pos["token_var"], f"awx.token_var: no value for '{name}' — {fix}")
    url = f["url"]
    if isinstance(url, str) and not re.match(r"https?://[^/\s]+", url):
        ctx.add(
            value.val_pos["url"], f"awx.url: '{url}' is not an http(s) URL — e.g. https://aap.example.com"
        )
        return None
    if any(v is INVALID for v in f.values()) or token is None or url is None:
        return None
    return AwxConnection(
        url=url.rstrip("/"),
        token=str(token),
        token_var=name,
        verify_tls=f["verify_tls"],
        ca_file=f["ca_file"],
        api=f["api"],
        request_timeout=f["request_timeout"],
        pending_timeout=f["pending_timeout"],
        poll_interval=f["poll_interval"],
    )


def _defaults(ctx: Ctx, value: Any) -> Defaults:
    if not isinstance(value, YMap):
        return Defaults()
    f = ctx.fields(value, F.DEFAULTS, "defaults")
    base = Defaults()
    return Defaults(**{k: getattr(base, k) if v is INVALID else v for k, v in f.items()})


def _check_top(ctx: Ctx, root: YMap, top: dict[str, Any]) -> None:
    pos = root.val_pos.get
    if isinstance(top["version"], int) and top["version"] != 1:
        ctx.add(
            pos("version", root.pos), f"version: unsupported format version {top['version']} — use version: 1"
        )
    name = top["name"]
    if isinstance(name, str) and not _NAME.fullmatch(name):
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "my-drill"
        msg = f"name: '{name}' must match {F.NAME_PATTERN} — e.g. name: {slug}"
        ctx.add(pos("name", root.pos), msg)
    tz = top["timezone"]
    if isinstance(tz, str) and not _valid_timezone(tz):
        hint = did_you_mean(tz, zoneinfo.available_timezones()) or " — use an IANA name such as Asia/Shanghai"
        ctx.add(pos("timezone", root.pos), f"timezone: unknown time zone '{tz}'{hint}")
    if isinstance(root.get("steps"), YList) and not root["steps"]:
        ctx.add(pos("steps", root.pos), "steps: a scenario needs at least one step")


def _valid_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _cross_checks(ctx: Ctx, root: YMap, main: list[StepInfo], rollback: list[StepInfo], known: Any) -> None:
    teams, systems, hosts = known
    checks.check_ids(ctx, main + rollback)
    checks.check_needs(ctx, main, {i.step.id for i in rollback})
    checks.check_refs(ctx, main + rollback, teams, systems)
    if hosts is not None:
        checks.check_hosts(ctx, main + rollback, hosts)
    checks.check_awx(ctx, main + rollback, root)
    checks.check_declares(ctx, main)
    checks.check_recovered(ctx, root.get("systems"), main)
    checks.check_rpo_measured(ctx, root.get("systems"), main)
    owner = root.get("owner")
    if isinstance(owner, str) and owner not in teams:
        hint = did_you_mean(owner, teams) or " — define it under teams:"
        ctx.add(root.val_pos["owner"], f"owner: unknown team '{owner}'{hint}")


def _build(ctx: Ctx, root: YMap, data: bytes, file: str, variables: Variables) -> Scenario:
    top = ctx.fields(root, F.SCENARIO, "")
    _check_top(ctx, root, top)
    teams, systems = _teams(ctx, top["teams"]), _systems(ctx, top["systems"])
    hosts = {**variables.inventory_hosts, **_hosts(ctx, top["hosts"])}
    participants = _participants(ctx, top["participants"], teams)
    defaults = _defaults(ctx, top["defaults"])
    awx = _awx(ctx, top["awx"], variables)
    main = build_steps(ctx, top["steps"], "steps", defaults)
    rollback = build_steps(ctx, top["rollback"], "rollback", defaults)
    notify, notify_secrets = build_notify(ctx, top["notify"], teams)
    known_hosts = None if variables.inventory_failed else set(hosts)
    _cross_checks(ctx, root, main, rollback, (teams, systems, known_hosts))
    if ctx.problems:  # nothing below is used; fields may be INVALID
        return Scenario(path="", sha256="", version=1, name="", title="", environment="lab")
    all_steps = [i.step for i in (*main, *rollback)]
    token = (awx.token,) if awx is not None else ()
    return Scenario(
        path=str(Path(file).resolve()),
        sha256=hashlib.sha256(data).hexdigest(),
        version=top["version"],
        name=top["name"],
        title=top["title"],
        environment=top["environment"],
        type=top["type"],
        timezone=top["timezone"],
        owner=top["owner"],
        description=top["description"],
        planned=top["planned"],
        references=top["references"] or (),
        exclusions=top["exclusions"] or (),
        teams=teams,
        participants=participants,
        systems=systems,
        vars=plain(variables.values),
        secret_vars=variables.secret_names,
        secrets=tuple(
            dict.fromkeys(
                token + variables.secrets + action_secrets(all_steps, variables.secret_names) + notify_secrets
            )
        ),
        inventory=variables.inventory,
        hosts=hosts,
        awx=awx,
        defaults=defaults,
        steps=tuple(i.step for i in main),
        rollback=tuple(i.step for i in rollback),
        notify=notify,
    )


__all__ = ["Pos", "load_scenario", "parse_scenario", "validate_paths"]
