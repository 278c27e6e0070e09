"""Template variables of a scenario: `vars`, then `--var`, over inventory variables; secrets.

Vars are data, not templates: a `{{ }}` inside a var's value is kept as written.
A var is secret when its name contains password, secret, token or key (any case), or
is listed in `secret_vars:`; its string values go to `Scenario.secrets`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bcdrill.common.errors import Problem, ScenarioError
from bcdrill.scenario.model import AnsibleAction, AwxAction, Host, Pos, RunAction, Step
from bcdrill.scenario.templating import TemplateProblem, Templater
from bcdrill.scenario.validator import plain
from bcdrill.scenario.yamlpos import YList, YMap

SECRET_NAME = re.compile(r"password|secret|token|key", re.IGNORECASE)


@dataclass
class Variables:
    templater: Templater
    values: dict[str, Any]  # scenario vars, then --var (no inventory variables)
    secret_names: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    inventory: str | None = None
    inventory_hosts: dict[str, Host] = field(default_factory=dict)
    inventory_failed: bool = False
    problems: list[Problem] = field(default_factory=list)


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif value is not None and not isinstance(value, bool) and str(value) != "":
        yield str(value)


def _secrets(values: Mapping[str, Any], listed: tuple[str, ...]) -> tuple[str, ...]:
    """Every value under a secret name (one containing password/secret/token/key, or listed), at any depth."""
    found: dict[str, None] = {}
    for name, value in values.items():
        if name in listed or SECRET_NAME.search(str(name)):
            found.update(dict.fromkeys(_leaves(value)))
        elif isinstance(value, Mapping):
            found.update(dict.fromkeys(_secrets(value, listed)))
    return tuple(found)


def action_secrets(steps: Iterable[Step], listed: tuple[str, ...]) -> tuple[str, ...]:
    """Values a scenario writes under secret names outside `vars`: extra vars (Ansible, AWX), environments."""
    found: dict[str, None] = {}
    for step in steps:
        action = step.action
        if isinstance(action, AnsibleAction):
            found.update(dict.fromkeys(_secrets(action.extravars, listed)))
        elif isinstance(action, AwxAction):
            found.update(dict.fromkeys(_secrets(action.extra_vars, listed)))
        elif isinstance(action, RunAction):
            found.update(dict.fromkeys(_secrets(action.env, listed)))
    return tuple(found)


def _is_file(path: str) -> bool:
    try:
        return "\0" not in path and Path(path).is_file()
    except OSError:  # e.g. a name longer than the file system allows: no such file for the user
        return False


def _inventory_path(root: YMap, file: str, base_dir: Path, given: str | None, tmpl: Templater) -> str | None:
    if given is not None:
        return str(Path(given).expanduser().absolute())
    raw = root.get("inventory")
    if not isinstance(raw, str):
        return None
    try:
        text = tmpl.render(raw)
    except TemplateProblem:
        return None  # reported when the field is validated
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else base_dir / path)


def _load_inventory(variables: Variables, pos: Pos) -> dict[str, Any]:
    """Inventory template variables (and hosts into `variables`); problems on failure."""
    assert variables.inventory is not None
    try:
        from bcdrill.scenario.inventory import load_inventory  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        variables.problems.append(
            Problem(pos.file, pos.line, pos.col, f"inventory: cannot read inventories ({exc})")
        )
        variables.inventory_failed = True
        return {}
    try:
        inv = load_inventory(variables.inventory)
    except ScenarioError as exc:
        variables.problems.extend(exc.problems)
        variables.inventory_failed = True
        return {}
    variables.inventory_hosts = dict(inv.hosts)
    return dict(inv.template_vars)


def collect_variables(
    root: YMap, file: str, base_dir: Path, cli_vars: Mapping[str, str], inventory: str | None
) -> Variables:
    raw = root.get("vars")
    scenario_vars = plain(raw) if isinstance(raw, YMap) else {}
    values = {**scenario_vars, **cli_vars}
    listed_raw = root.get("secret_vars")
    listed = tuple(str(v) for v in listed_raw if isinstance(v, str)) if isinstance(listed_raw, YList) else ()
    variables = Variables(Templater(values), values, listed, _secrets(values, listed))
    variables.inventory = _inventory_path(root, file, base_dir, inventory, variables.templater)
    if variables.inventory is None:
        return variables
    key_pos = root.val_pos.get("inventory") if inventory is None else None
    pos = key_pos or Pos(file, 1, 1)
    if not _is_file(variables.inventory):
        if inventory is not None:
            msg = f"--inventory: no such file '{inventory}'"
            variables.problems.append(Problem(pos.file, pos.line, pos.col, msg))
        variables.inventory_failed = True  # a missing scenario inventory is reported by its field
        return variables
    inv_vars = _load_inventory(variables, pos)
    if inv_vars:
        used = variables.templater.used  # e.g. by the inventory path itself
        variables.templater = Templater({**inv_vars, **values})
        variables.templater.used |= used
    return variables
