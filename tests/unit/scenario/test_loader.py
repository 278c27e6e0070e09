"""The loader: one fixture per validation rule, each asserting the exact `FILE:LINE:COL: message` lines."""

# ruff: noqa: E501 - expected messages are compared verbatim
from __future__ import annotations

from pathlib import Path

import pytest

from bcdrill.common.errors import ScenarioError
from bcdrill.scenario.loader import load_scenario, parse_scenario, validate_paths
from bcdrill.scenario.model import CheckAction, HttpProbe, PythonProbe, RunAction, SshAction, WaitAction

FIXTURES = Path(__file__).parent / "fixtures" / "loader"
DIR = str(FIXTURES)


def problems_of(path: str | Path, **kw: object) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kw)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


RULES = [
    (
        "actions.yaml",
        [
            "actions.yaml:6:5: steps[nothing] has no action — add exactly one of: run, ssh, ansible, awx, check, manual, wait",
            "actions.yaml:10:5: steps[both] has more than one action (run and manual) — split it into one step per action",
            "actions.yaml:12:38: steps[probes].check has more than one probe (tcp and smtp) — use one probe per step",
            "actions.yaml:14:12: steps[noprobe].check has no probe — add exactly one of: http, tcp, smtp, command, ssh, python",
        ],
    ),
    (
        "bad_duration.yaml",
        [
            "bad_duration.yaml:6:15: systems.core.rto: expected a duration such as 90s, 15m, 4h or 1h30m, got '4 hours'",
            "bad_duration.yaml:7:21: defaults.timeout: must be greater than zero — use null for none",
            "bad_duration.yaml:9:34: steps[a].expect: a duration cannot be negative, got -5",
            "bad_duration.yaml:9:51: steps[a].retry_delay: expected a duration such as 90s, 15m, 4h or 1h30m, got 'soon'",
        ],
    ),
    (
        "bad_enum.yaml",
        [
            "bad_enum.yaml:4:7: type: 'livee' is not valid — did you mean 'live'?",
            "bad_enum.yaml:5:14: environment: 'prod' is not valid — expected one of: lab, staging, production",
            "bad_enum.yaml:7:38: steps[a].on_failure: 'stop' is not valid — expected one of: abort, continue, ignore",
        ],
    ),
    (
        "bad_name.yaml",
        [
            "bad_name.yaml:2:7: name: 'Annual Drill 2026' must match [a-z0-9][a-z0-9-]* — e.g. name: annual-drill-2026",
        ],
    ),
    (
        "bad_python_spec.yaml",
        [
            "bad_python_spec.yaml:7:21: steps[a].check.python: expected 'path/to/module.py:function', got 'checks/business.py'",
            "bad_python_spec.yaml:9:59: steps[b].check.args: expected a mapping, got a list",
            "bad_python_spec.yaml:11:38: steps[c].check.args: only a python check takes args — remove it",
        ],
    ),
    (
        "bad_timezone.yaml",
        [
            "bad_timezone.yaml:5:11: timezone: unknown time zone 'Asia/Shanghia' — did you mean 'Asia/Shanghai'?",
        ],
    ),
    (
        "bad_version.yaml",
        [
            "bad_version.yaml:1:10: version: unsupported format version 2 — use version: 1",
        ],
    ),
    (
        "bad_wait.yaml",
        [
            "bad_wait.yaml:6:27: steps[a].wait.until: expected an ISO-8601 time with a UTC offset, got '2026-05-01T09:00:00' — e.g. 2026-05-01T09:00:00+08:00",
            "bad_wait.yaml:7:27: steps[b].wait.until: expected an ISO-8601 time with a UTC offset, got 'tomorrow' — e.g. 2026-05-01T09:00:00+08:00",
            "bad_wait.yaml:8:19: steps[c].wait: expected a duration or a mapping {until: <time>}, got a list",
            "bad_wait.yaml:9:19: steps[d].wait: expected a duration such as 90s, 15m, 4h or 1h30m, got 'forever'",
        ],
    ),
    (
        "cycle.yaml",
        [
            "cycle.yaml:6:33: dependency cycle: a -> c -> b -> a — remove one of these needs",
            "cycle.yaml:9:33: dependency cycle: d -> d — remove one of these needs",
        ],
    ),
    (
        "duplicate_id.yaml",
        [
            "duplicate_id.yaml:8:10: duplicate step id 'a' (first defined at line 6) — step ids must be unique across steps and rollback",
            "duplicate_id.yaml:10:10: duplicate step id 'b' (first defined at line 7) — step ids must be unique across steps and rollback",
        ],
    ),
    (
        "duplicate_key.yaml",
        [
            "duplicate_key.yaml:9:5: duplicate key 'expect' (first defined at line 8) — remove one",
            "duplicate_key.yaml:10:1: duplicate key 'title' (first defined at line 3) — remove one",
        ],
    ),
    (
        "hosts_invalid.yaml",
        [
            "hosts_invalid.yaml:6:7: missing required key 'address' in hosts.db — add address: <host or IP>",
            "hosts_invalid.yaml:6:14: hosts.db.port: expected an integer, got a string",
            "hosts_invalid.yaml:6:45: hosts.db.accept_unknown_host_key: expected true or false, got a string",
            "hosts_invalid.yaml:7:34: hosts.web.port: must be greater than zero, got 0",
            "hosts_invalid.yaml:9:25: unknown host 'dbb' — define it under hosts: or in the inventory",
            "hosts_invalid.yaml:10:68: steps[b].check.ssh.matches: invalid regular expression: missing ), unterminated subpattern at position 1",
        ],
    ),
    (
        "missing_files.yaml",
        [
            f"missing_files.yaml:5:12: inventory: no such file 'inventories/nowhere.ini' (looked for {DIR}/inventories/nowhere.ini)",
            f"missing_files.yaml:7:32: hosts.h.key: no such file 'keys/missing_key' (looked for {DIR}/keys/missing_key)",
            f"missing_files.yaml:10:25: steps[a].ansible.playbook: no such file 'playbooks/nope.yml' (looked for {DIR}/playbooks/nope.yml)",
            f"missing_files.yaml:12:21: steps[b].check.python: no such file 'checks/nope.py' (looked for {DIR}/checks/nope.py)",
        ],
    ),
    (
        "missing_required.yaml",
        [
            "missing_required.yaml:1:1: missing required key 'environment' — add environment: lab, staging or production",
            "missing_required.yaml:1:1: missing required key 'name' — add name: <id>, e.g. name: annual-2026",
        ],
    ),
    (
        "no_recovers.yaml",
        [
            "no_recovers.yaml:7:3: system 'mail' has no step that recovers it — add recovers: [mail] to the step that proves it is back",
            "no_recovers.yaml:11:26: rollback[r]: recovers has no effect in rollback — move it to a step under steps:",
        ],
    ),
    (
        "participants.yaml",
        [
            "participants.yaml:7:29: unknown team 'opss' — did you mean 'ops'?",
            "participants.yaml:8:5: missing required key 'name' in participants[1] — add name: <person>",
            "participants.yaml:9:5: participants[2]: expected a mapping, got a string",
            "participants.yaml:10:14: secret_vars: expected a list of strings, got a string — write [api]",
        ],
    ),
    (
        "rollback_rules.yaml",
        [
            "rollback_rules.yaml:10:27: rollback[r1]: declares has no effect in rollback — move it to a step under steps:",
            "rollback_rules.yaml:11:27: rollback[r2]: rollback steps run in sequence — remove needs",
        ],
    ),
    (
        "two_declares.yaml",
        [
            "two_declares.yaml:7:41: more than one step declares (first: 'a' at line 6) — keep declares: true on one step only",
        ],
    ),
    (
        "undefined_var.yaml",
        [
            "undefined_var.yaml:8:10: undefined variable 'dr_sitee' — define it under vars: or pass --var "
            "dr_sitee=VALUE (or did you mean 'dr_site'?)",
            "undefined_var.yaml:10:12: undefined variable 'region' — define it under vars: or pass --var region=VALUE",
            "undefined_var.yaml:12:11: when: undefined variable 'missing_flag' — define it under vars: or pass --var missing_flag=VALUE",
        ],
    ),
    (
        "unknown_key.yaml",
        [
            "unknown_key.yaml:5:1: unknown key 'descripton' — did you mean 'description'?",
            "unknown_key.yaml:9:5: unknown key 'expct' in steps[a] — did you mean 'expect'?",
            "unknown_key.yaml:11:10: missing required key 'command' in steps[b].ssh — add command: <command>",
            "unknown_key.yaml:11:20: unknown key 'comand' in steps[b].ssh — did you mean 'command'?",
            "unknown_key.yaml:12:5: unknown key 'frobnicate' in steps[b] — expected one of: id, title, phase, team, systems, needs, run, ssh, ansible, awx, check, manual, wait, timeout, expect, retries, retry_delay, until, on_failure, when, idempotent, dry_run, declares, recovers, rpo_of",
        ],
    ),
    (
        "unknown_refs.yaml",
        [
            "unknown_refs.yaml:5:8: owner: unknown team 'opps' — did you mean 'ops'?",
            "unknown_refs.yaml:12:11: unknown team 'tech' — define it under teams:",
            "unknown_refs.yaml:13:15: unknown system 'coer' in systems — did you mean 'core'?",
            "unknown_refs.yaml:16:13: unknown step 'promot' in needs — did you mean 'promote'?",
            "unknown_refs.yaml:16:21: 'undo' is a rollback step — a step cannot need a rollback step",
            "unknown_refs.yaml:18:22: unknown system 'mail' in recovers — define it under systems:",
            "unknown_refs.yaml:19:14: unknown system 'cor' in rpo_of — did you mean 'core'?",
        ],
    ),
    (
        "until_not_check.yaml",
        [
            "until_not_check.yaml:8:5: steps[a].until: only a check step can poll — remove until or use check:",
            "until_not_check.yaml:11:12: missing required key 'within' in steps[b].until — add within: 15m",
        ],
    ),
    (
        "wrong_type.yaml",
        [
            "wrong_type.yaml:6:3: systems: expected a mapping, got a list",
            "wrong_type.yaml:11:12: steps[b].needs: expected a list of strings, got a string — write [a]",
            "wrong_type.yaml:12:33: steps[b].run.env: expected a mapping, got a list",
            "wrong_type.yaml:13:14: steps[b].retries: expected an integer, got a string",
            "wrong_type.yaml:14:17: steps[b].idempotent: expected true or false, got a string",
        ],
    ),
]


@pytest.mark.parametrize(("name", "expected"), RULES, ids=[r[0] for r in RULES])
def test_rule_fixture_reports_exact_messages(
    name: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    assert problems_of(name) == expected


def test_valid_full_covers_every_key() -> None:
    scn = load_scenario(FIXTURES / "valid_full.yaml")
    assert scn.name == "full-drill" and scn.environment == "staging" and scn.planned is False
    assert scn.path == DIR + "/valid_full.yaml"
    assert len(scn.sha256) == 64
    assert [s.id for s in scn.steps][:3] == ["declare", "isolate", "promote-core-db"]
    assert scn.step("isolate").needs == ("declare",)
    assert scn.step("local-smoke").needs == ()
    assert scn.step("report-status").needs == ("mail-up", "core-business")
    assert scn.step("isolate").timeout == 900.0 and scn.step("declare").timeout == 1800.0
    assert scn.step("local-smoke").timeout is None
    assert scn.step("declare").retries == 1 and scn.step("promote-core-db").retries == 2
    assert scn.step("core-up").until is not None and scn.step("core-up").until.within == 900.0
    assert scn.step("window").enabled is False and scn.step("core-business").enabled is True
    assert scn.rollback[1].needs == ("rollback-core",)
    assert scn.systems["core-individual"].rto == 4 * 3600 and scn.systems["mail"].rpo is None
    assert scn.hosts["dr-db-1"].key == DIR + "/keys/id_fixture"
    assert set(scn.secrets) == {"s3cr3t-pw", "east"}
    assert scn.declaring_step is not None and scn.declaring_step.id == "declare"


def test_valid_full_actions_are_rendered() -> None:
    scn = load_scenario(FIXTURES / "valid_full.yaml")
    ssh = scn.step("promote-core-db").action
    assert isinstance(ssh, SshAction) and ssh.command == "/opt/dr/promote.sh dr.example.internal"
    check = scn.step("core-up").action
    assert isinstance(check, CheckAction) and isinstance(check.probe, HttpProbe)
    assert check.probe.url == "https://dr.example.internal/core/health"
    assert check.probe.json == {"status": "up", "data.items.0.state": "ready"}
    py = scn.step("core-business").action
    assert isinstance(py, CheckAction) and isinstance(py.probe, PythonProbe)
    assert py.probe == PythonProbe(
        path=DIR + "/checks/business.py", function="orders_ok", args={"min_orders": 3}
    )
    argv = scn.step("argv-step").action
    assert isinstance(argv, RunAction) and argv.command == ("echo", "dr.example.internal")
    wait = scn.step("window").action
    assert isinstance(wait, WaitAction) and wait.until is not None and wait.until.utcoffset() is not None


def test_null_timeout_means_none_and_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    scn = load_scenario("null_timeout.yaml")
    assert [(s.timeout, s.retries) for s in scn.steps] == [(None, 2), (300.0, 0), (None, 2)]
    assert scn.steps[2].needs == ()


def _write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


BASE = "version: 1\nname: t\ntitle: T\nenvironment: lab\n"


def test_cli_var_overrides_scenario_var(tmp_path: Path) -> None:
    path = _write(
        tmp_path, BASE + "vars: {site: a}\nsteps:\n  - {id: s, manual: {prompt: 'site {{ site }}'}}\n"
    )
    assert load_scenario(path).steps[0].action == load_scenario(path).steps[0].action
    scn = load_scenario(path, cli_vars={"site": "b"})
    assert scn.steps[0].action.prompt == "site b"  # type: ignore[union-attr]
    assert scn.vars["site"] == "b"


def test_command_substitutions_are_shell_quoted(tmp_path: Path) -> None:
    text = BASE + (
        "steps:\n"
        "  - {id: a, run: 'echo {{ x }}'}\n"
        "  - {id: b, run: [echo, '{{ x }}']}\n"
        "  - {id: c, manual: {prompt: 'got {{ x }}'}}\n"
        "  - {id: d, check: {command: {command: 'test {{ x|upper }} = y'}}}\n"
    )
    evil = "$(rm -rf /); echo"
    scn = load_scenario(_write(tmp_path, text), cli_vars={"x": evil})
    assert scn.step("a").action.command == "echo '$(rm -rf /); echo'"  # type: ignore[union-attr]
    assert scn.step("b").action.command == ("echo", evil)  # type: ignore[union-attr]
    assert scn.step("c").action.prompt == f"got {evil}"  # type: ignore[union-attr]
    assert scn.step("d").action.probe.command == "test '$(RM -RF /); ECHO' = y"  # type: ignore[union-attr]


def test_quote_inside_value_cannot_break_out(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        BASE + "steps:\n  - {id: a, ssh: {host: h, command: 'echo {{ x }}'}}\nhosts: {h: {address: x}}\n",
    )
    scn = load_scenario(path, cli_vars={"x": "a'; reboot; '"})
    assert scn.steps[0].action.command == "echo 'a'\"'\"'; reboot; '\"'\"''"  # type: ignore[union-attr]


def test_when_expression_uses_vars(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "vars: {n: 3}\nsteps:\n  - {id: a, run: 'true', when: 'n|int > 5'}\n")
    assert load_scenario(path).steps[0].enabled is False
    assert load_scenario(path, cli_vars={"n": "9"}).steps[0].enabled is True


def test_when_type_error_is_a_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "vars: {n: 3}\nsteps:\n  - {id: a, run: 'true', when: 'n > 5'}\n")
    assert problems_of(path, cli_vars={"n": "9"}) == [
        f"{path}:7:32: when: expression error: '>' not supported between instances of 'str' and 'int'"
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "s.yaml:1:1: the file is empty — a scenario needs version, name, title, environment and steps"),
        (
            b"version: 1\nname: \xff\xfe\n",
            "s.yaml:2:7: not valid UTF-8 text (byte 0xff) — save the file as UTF-8",
        ),
        (
            b"version: 1\nname: [a\n",
            "s.yaml:3:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)",
        ),
        (b"- a\n- b\n", "s.yaml:1:1: expected a mapping at the top level, got a list"),
        (b"just text\n", "s.yaml:1:1: expected a mapping at the top level, got a string"),
        (
            b"version: 1\n\tname: x\n",
            "s.yaml:2:1: YAML syntax error: found a tab character that violates indentation (while scanning a plain scalar)",
        ),
        (b"a: &x [*x]\n", "s.yaml:1:4: recursive alias — an anchor cannot contain an alias of itself"),
        (
            b"version: 1\ntitle: !!python/object:os.system x\n",
            "s.yaml:2:8: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system' on 'x' — remove the tag",
        ),
        (
            b"version: !!int abc\n",
            "s.yaml:1:10: invalid value 'abc': invalid literal for int() with base 10: 'abc'",
        ),
    ],
    ids=[
        "empty",
        "binary",
        "bad-yaml",
        "list",
        "scalar",
        "tab",
        "recursive-alias",
        "python-tag",
        "bad-int-tag",
    ],
)
def test_junk_input_is_a_problem_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, content)
    assert problems_of("s.yaml") == [expected]


def test_anchors_and_merge_keys_are_allowed(tmp_path: Path) -> None:
    text = BASE + (
        "x-check: &probe {tcp: {host: h, port: 1}}\n".replace("x-check", "vars") + "steps:\n"
        "  - {id: a, check: *probe, expect: 1m}\n"
        "  - {id: b, <<: {expect: 2m, run: 'true'}}\n"
    )
    scn = load_scenario(_write(tmp_path, text))
    assert scn.steps[0].kind == "check" and scn.steps[1].expect == 120.0 and scn.steps[1].kind == "run"


def test_validate_paths_collects_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    problems = validate_paths(["valid_full.yaml", "bad_version.yaml", "missing.yaml", "bad_name.yaml"])
    assert [f"{p.file}:{p.line}" for p in problems] == [
        "bad_version.yaml:1",
        "missing.yaml:1",
        "bad_name.yaml:2",
    ]
    assert str(problems[1]) == "missing.yaml:1:1: no such file"


def test_inventory_problem_is_reported_without_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "steps:\n  - {id: a, run: 'true'}\n")
    assert problems_of(path, inventory=str(tmp_path / "nope.ini")) == [
        f"{path}:1:1: --inventory: no such file '{tmp_path / 'nope.ini'}'"
    ]


def test_ten_thousand_steps_load(tmp_path: Path) -> None:
    steps = "".join(f"  - {{id: s{i}, run: 'echo {{{{ site }}}} {i}', expect: 1s}}\n" for i in range(10_000))
    data = (BASE + "vars: {site: dr}\nsteps:\n" + steps).encode()
    scn = parse_scenario(data, "big.yaml", tmp_path)
    assert len(scn.steps) == 10_000 and scn.steps[-1].needs == ("s9998",)
    assert scn.steps[-1].action.command == "echo dr 9999"  # type: ignore[union-attr]


def test_yaml_boolean_where_text_is_expected_says_to_quote_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, BASE + "steps:\n  - id: off\n    check: {command: {command: 'true', contains: yes}}\n")
    hint = "YAML reads yes, no, on, off, true and false as booleans: put the text in quotes"
    assert problems_of("s.yaml") == [
        f"s.yaml:6:9: steps[0].id: expected a string, got a boolean — {hint}",
        f"s.yaml:7:50: steps[0].check.command.contains: expected a string, got a boolean — {hint}",
    ]


def test_step_ids_must_be_usable_as_file_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step id names logs/<id>.log and acks/<id>.json: no path separators, no hidden or huge names."""
    monkeypatch.chdir(tmp_path)
    long_id = "x" * 201
    _write(
        tmp_path,
        BASE
        + "steps:\n"
        + "  - {id: ../../escape, run: 'true'}\n"
        + "  - {id: '', run: 'true'}\n"
        + "  - {id: .hidden, run: 'true'}\n"
        + f"  - {{id: {long_id}, run: 'true'}}\n"
        + "  - {id: 中文-步骤_1.2, run: 'true'}\n",
    )
    fix = "step ids name log files: use letters, digits and '-'"
    assert problems_of("s.yaml") == [
        f"s.yaml:6:10: steps[../../escape].id: must not contain '/', '\\' or control characters — {fix}",
        f"s.yaml:7:10: steps[1].id: must not be empty — {fix}",
        f"s.yaml:8:10: steps[.hidden].id: must not start with '.' — {fix}",
        f"s.yaml:9:10: steps[{long_id}].id: is too long (201 bytes; at most 200) — {fix}",
    ]


def test_secret_named_extravars_and_env_values_are_secrets(tmp_path: Path) -> None:
    (tmp_path / "p.yml").write_text("- hosts: all\n  tasks: []\n")
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nname: s\ntitle: t\nenvironment: lab\n"
        "steps:\n"
        "  - id: a\n    ansible: {playbook: p.yml, extravars: {db: {admin_password: PW-NESTED-1}, user: alice}}\n"
        "  - id: b\n    run: {command: 'true', env: {API_TOKEN: TK-ENV-2, LANG: C}}\n"
    )
    scn = load_scenario(path)
    assert set(scn.secrets) == {"PW-NESTED-1", "TK-ENV-2"}


def test_a_cli_var_no_template_uses_is_a_warning_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nname: s\ntitle: t\nenvironment: lab\nvars: {dr_site: dr.example, gate: 'no'}\n"
        "steps:\n"
        "  - {id: a, run: 'ping -c1 {{ dr_site }}'}\n"
        "  - {id: b, run: 'true', when: \"gate == 'yes'\"}\n"
        "  - {id: c, run: \"echo {{ region | default('cn') }}\"}\n"
    )
    scn = load_scenario(path, cli_vars={"dr_stie": "x", "gate": "yes", "region": "eu", "dr_site": "y"})
    assert scn.warnings == (
        f"{path}: --var dr_stie=… is not used by this scenario — did you mean --var dr_site=…?",
    )
    assert load_scenario(path, cli_vars={"zzz": "1"}).warnings == (
        f"{path}: --var zzz=… is not used by this scenario — check the name",
    )


def test_a_nul_character_or_an_equals_sign_in_an_env_name_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    steps = (
        '  - {id: a, run: "echo \\0x"}\n'
        '  - {id: b, run: {command: [echo, ok], env: {"A=B": "1"}}}\n'
        '  - {id: c, run: {command: [echo, ok], env: {A: "x\\0y"}}}\n'
        '  - {id: d, run: {command: [echo, "a\\0"]}}\n'
    )
    path = _write(tmp_path, BASE + "systems: {}\nsteps:\n" + steps)
    assert problems_of(path) == [
        f"{path}:7:18: steps[a].run: a NUL character (\\0) cannot be passed to a command — remove it",
        f"{path}:8:18: steps[b].run.env: 'A=B' cannot name a variable — use letters, digits and _",
        f"{path}:9:18: steps[c].run: a NUL character (\\0) cannot be passed to a command — remove it",
        f"{path}:10:18: steps[d].run: a NUL character (\\0) cannot be passed to a command — remove it",
    ]
