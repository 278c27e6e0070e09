"""Ansible inventories read by Ansible's own parser: hosts for SSH steps, variables for templating.

`load_inventory(path)` accepts whatever `ansible-playbook -i PATH` accepts as a file or directory
(INI, YAML, a directory of them), including `group_vars/` and `host_vars/` beside it, and returns:

- `hosts`: a `bcdrill.scenario.model.Host` per inventory host, from `ansible_host`, `ansible_port`
  (default 22), `ansible_user`, `ansible_ssh_private_key_file` (made absolute, relative to the
  inventory's directory)
  and a `UserKnownHostsFile=` found in `ansible_ssh_common_args` / `ansible_ssh_extra_args`;
- `template_vars`: `{"hostvars": {host: {var: value}}, "groups": {group: [host, ...]}}` with plain
  JSON values. Only inventory variables (host, group, group_vars/, host_vars/), never facts.

Ansible is imported inside the functions (it takes ~0.4 s), and results are cached per file.
A missing or unparsable inventory raises `ScenarioError` with the best position Ansible gives.
"""

from __future__ import annotations

import os
import re
import shlex
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bcdrill.common.errors import Problem, ScenarioError
from bcdrill.scenario.model import Host

# Variables Ansible's VariableManager adds that are not inventory data.
_MAGIC_VARS = frozenset(
    {
        "ansible_config_file",
        "ansible_facts",
        "ansible_playbook_python",
        "ansible_version",
        "groups",
        "omit",
        "playbook_dir",
        "role_names",
        "ansible_play_hosts",
        "ansible_play_hosts_all",
        "ansible_play_batch",
    }
)
_YAML_SUFFIXES = (".yml", ".yaml", ".json")
_KNOWN_HOSTS_RE = re.compile(r"UserKnownHostsFile=(\S+)")

_lock = threading.Lock()
_cache: dict[tuple[str, int], Inventory] = {}


@dataclass(frozen=True)
class Inventory:
    path: str
    hosts: Mapping[str, Host]
    template_vars: Mapping[str, Any]


def load_inventory(path: str) -> Inventory:
    """Parse an Ansible inventory (cached per path and modification time within the process)."""
    abspath = os.path.abspath(path)
    try:
        mtime = os.stat(abspath).st_mtime_ns
    except OSError as exc:
        raise ScenarioError([Problem(abspath, 1, 1, f"inventory not found: {exc.strerror}")]) from None
    with _lock:
        cached = _cache.get((abspath, mtime))
        if cached is None:
            cached = _parse_inventory(abspath)
            _cache[(abspath, mtime)] = cached
        return cached


def _parse_inventory(path: str) -> Inventory:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    with _captured_display() as failures:
        manager = InventoryManager(loader=loader, sources=[path])
    if not manager._inventory.processed_sources:
        raise ScenarioError([_problem_from_failures(path, failures)])
    variables = VariableManager(loader=loader, inventory=manager)
    hostvars: dict[str, dict[str, Any]] = {}
    for host in manager.get_hosts():
        raw = variables.get_vars(host=host, include_hostvars=False)
        hostvars[host.name] = {str(k): _plain(v) for k, v in raw.items() if k not in _MAGIC_VARS}
    groups = {str(name): [h.name for h in group.get_hosts()] for name, group in manager.groups.items()}
    base_dir = path if os.path.isdir(path) else os.path.dirname(path)
    hosts = {name: host_from_vars(name, hv, base_dir) for name, hv in hostvars.items()}
    return Inventory(path=path, hosts=hosts, template_vars={"hostvars": hostvars, "groups": groups})


def host_from_vars(name: str, hv: Mapping[str, Any], base_dir: str) -> Host:
    """A bcdrill Host from one host's inventory variables."""
    key = hv.get("ansible_ssh_private_key_file") or hv.get("ansible_private_key_file")
    user = hv.get("ansible_user") or hv.get("ansible_ssh_user")
    port = hv.get("ansible_port") or hv.get("ansible_ssh_port") or 22
    return Host(
        name=name,
        address=str(hv.get("ansible_host") or hv.get("ansible_ssh_host") or name),
        port=int(port),
        user=str(user) if user else None,
        key=_abspath(str(key), base_dir) if key else None,
        known_hosts=_known_hosts(hv, base_dir),
    )


def _known_hosts(hv: Mapping[str, Any], base_dir: str) -> str | None:
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        args = hv.get(name)
        if isinstance(args, str):
            try:
                text = " ".join(shlex.split(args))
            except ValueError:
                text = args
            match = _KNOWN_HOSTS_RE.search(text)
            if match:
                return _abspath(match.group(1), base_dir)
    return None


def _abspath(path: str, base_dir: str) -> str:
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))


def _plain(value: Any) -> Any:
    """Ansible's tagged values as plain JSON-able Python values."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return str(value)


@contextmanager
def _captured_display() -> Iterator[list[tuple[str, BaseException]]]:
    """Silence Ansible's warnings while parsing and collect the per-plugin parse failures."""
    from ansible.utils.display import Display

    display = Display()
    failures: list[tuple[str, BaseException]] = []

    def error_as_warning(msg: str | None, exception: BaseException, *args: Any, **kwargs: Any) -> None:
        failures.append((str(msg or ""), exception))

    def ignore(*args: Any, **kwargs: Any) -> None:
        return None

    saved = {name: display.__dict__.get(name) for name in ("error_as_warning", "warning")}
    display.error_as_warning = error_as_warning
    display.warning = ignore
    try:
        yield failures
    finally:
        for name, previous in saved.items():
            if previous is None:
                delattr(display, name)
            else:
                setattr(display, name, previous)


def _problem_from_failures(path: str, failures: list[tuple[str, BaseException]]) -> Problem:
    if not failures:
        return Problem(path, 1, 1, "not an Ansible inventory Ansible can parse (INI or YAML)")
    wanted = ("yaml", "auto") if path.endswith(_YAML_SUFFIXES) else ("ini",)
    ranked = sorted(failures, key=lambda f: 0 if any(w in f[0] for w in wanted) else 1)
    positioned = [(f, _position(path, f[1])) for f in ranked]
    (_, exc), pos = next(((f, p) for f, p in positioned if p is not None), positioned[0])
    line, col = pos or (1, 1)
    return Problem(path, line, col, _message(exc))


def _message(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _position(path: str, exc: BaseException) -> tuple[int, int] | None:
    """Line and column from Ansible's Origin, a YAML mark, or the quoted text of an INI error."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for err in chain:
        origin = getattr(err, "obj", None)
        line = getattr(origin, "line_num", None)
        if isinstance(line, int) and line > 0 and getattr(origin, "path", path) == path:
            return line, int(getattr(origin, "col_num", None) or 1)
        mark = getattr(err, "problem_mark", None)
        if mark is not None and isinstance(getattr(mark, "line", None), int):
            return mark.line + 1, mark.column + 1
    return _search_quoted(path, " ".join(str(e) for e in chain))


def _search_quoted(path: str, message: str) -> tuple[int, int] | None:
    fragments = re.findall(r"'([^']+)'", message) + re.findall(r"(\[[^\]]+\])", message)
    fragments += re.findall(r"got: (\S+)", message)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for fragment in fragments:
        for number, text in enumerate(lines, start=1):
            col = text.find(fragment)
            if col >= 0 and not text.lstrip().startswith(("#", ";")):
                return number, col + 1
    return None
