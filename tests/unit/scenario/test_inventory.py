"""Ansible inventories through Ansible's own parser (bcdrill.scenario.inventory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bcdrill.common.errors import Problem, ScenarioError
from bcdrill.scenario.inventory import load_inventory
from bcdrill.scenario.model import Host

pytest.importorskip("ansible")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problem_of(path: Path) -> Problem:
    with pytest.raises(ScenarioError) as info:
        load_inventory(str(path))
    (problem,) = info.value.problems
    return problem


def test_ini_with_groups_group_vars_and_host_vars(tmp_path: Path) -> None:
    inventory = write(
        tmp_path / "staging.ini",
        "[web]\nweb-1 ansible_host=10.0.0.1 ansible_port=2222\n"
        "[db]\ndr-db-1 ansible_user=pg\n"
        "[dr:children]\nweb\ndb\n[dr:vars]\nsite=dr\n",
    )
    write(tmp_path / "group_vars" / "all.yml", "ntp: pool.example\n")
    write(tmp_path / "group_vars" / "db.yml", "site: dr-db\ndb_port: 5432\n")
    write(
        tmp_path / "host_vars" / "dr-db-1.yml",
        "role: leader\nansible_ssh_private_key_file: keys/id_ed25519\n"
        "ansible_ssh_common_args: -o UserKnownHostsFile=kh/known_hosts\n",
    )
    inv = load_inventory(str(inventory))
    assert inv.hosts == {
        "web-1": Host(name="web-1", address="10.0.0.1", port=2222),
        "dr-db-1": Host(
            name="dr-db-1",
            address="dr-db-1",
            user="pg",
            key=str(tmp_path / "keys" / "id_ed25519"),
            known_hosts=str(tmp_path / "kh" / "known_hosts"),
        ),
    }
    hostvars = inv.template_vars["hostvars"]
    assert hostvars["dr-db-1"]["site"] == "dr-db"  # the child group's group_vars win over dr:vars
    assert hostvars["dr-db-1"]["db_port"] == 5432 and hostvars["dr-db-1"]["role"] == "leader"
    assert hostvars["web-1"]["site"] == "dr" and hostvars["web-1"]["ntp"] == "pool.example"
    assert "ansible_facts" not in hostvars["web-1"] and "groups" not in hostvars["web-1"]
    groups = inv.template_vars["groups"]
    assert groups["dr"] == ["web-1", "dr-db-1"] and groups["db"] == ["dr-db-1"]
    assert sorted(groups["all"]) == ["dr-db-1", "web-1"]
    assert json.loads(json.dumps(inv.template_vars)) == inv.template_vars  # plain JSON values


def test_yaml_inventory(tmp_path: Path) -> None:
    inventory = write(
        tmp_path / "hosts.yml",
        "all:\n  children:\n    mail:\n      hosts:\n"
        "        mail-dr: {ansible_host: 192.0.2.7, ansible_port: 2200, smtp_port: 25}\n"
        "      vars: {tier: 3}\n",
    )
    inv = load_inventory(str(inventory))
    assert inv.hosts["mail-dr"] == Host(name="mail-dr", address="192.0.2.7", port=2200)
    assert inv.template_vars["hostvars"]["mail-dr"]["tier"] == 3
    assert inv.template_vars["groups"]["mail"] == ["mail-dr"]


def test_results_are_cached_per_file(tmp_path: Path) -> None:
    inventory = write(tmp_path / "hosts.ini", "a\n")
    assert load_inventory(str(inventory)) is load_inventory(str(inventory))


def test_broken_ini_section_is_a_problem_at_its_line(tmp_path: Path) -> None:
    inventory = write(tmp_path / "bad.ini", "[web]\nweb-1\n\n[db:nonsense]\ndb-1\n")
    assert problem_of(inventory) == Problem(
        str(inventory), 4, 1, "Failed to parse inventory: Section [db:nonsense] has unknown type: nonsense"
    )


def test_broken_ini_host_variable_is_a_problem_at_its_column(tmp_path: Path) -> None:
    inventory = write(tmp_path / "bad.ini", "[web]\nweb-1 ansible_host=10.0.0.1 oops\n")
    problem = problem_of(inventory)
    assert (problem.line, problem.col) == (2, 29)
    assert "Expected key=value host variable assignment, got: oops" in problem.message


def test_broken_yaml_is_a_problem_with_ansible_position(tmp_path: Path) -> None:
    inventory = write(tmp_path / "bad.yml", "all:\n  hosts:\n    h1: {ansible_host: 1.2.3.4\n")
    problem = problem_of(inventory)
    assert problem.line == 4 and "YAML parsing failed" in problem.message


def test_missing_inventory_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ini"
    expected = Problem(str(missing), 1, 1, "inventory not found: No such file or directory")
    assert problem_of(missing) == expected
