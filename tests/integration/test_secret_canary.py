"""Canary secrets through every step kind, every report and the evidence bundle: 0 leaks in any form.

The secrets hold a quote, a double quote, a backslash, a dollar and non-ASCII text, two are multi-line
key files; they reach the run by --var (secret by their name), by `secret_vars:` and written literally
in an Ansible step's `extravars`. Every byte the run leaves — journal, logs, summary, reports (html,
md, json, junit, the text of the pdf), metrics, Ansible artifacts, drill.log, the evidence bundle
unpacked, what the CLI printed — is searched for every form the secrets take on the way out. The forms
are written out here, independently of bcdrill's redactor.
An `awx` step runs against the AWX contract stand-in, given the secrets and the controller's token.
"""

from __future__ import annotations

import collections
import html
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from awx_standin import StandIn
from canary_servers import http_server, smtp_server
from robots import Robots, robots_server
from servers import serve
from sshd import SshdServer

CANARY = Path(__file__).parent / "canary"
TOKEN = "Tok\"Dq\\Bs-ö9'x$y"
KEYFILE = (
    "-----BEGIN CANARY KEY-----\nQ2FuYXJ5S2V5TGluZU9uZQ==\nQ2FuYXJ5S2V5TGluZVR3bw==\n-----END CANARY KEY-----"
)
CERT = "MIIcanaryCertLineOne+/x\r\nMIIcanaryCertLine'Two\"\r\n"  # secret because secret_vars names it
LISTED = "listed-Zq9#Vw!"  # secret because secret_vars names it, not by its name
LITERAL = "Lit-Vault'pw9ü"  # written in the scenario: secret as an `extravars` value under a secret name
AWX_TOKEN = "awx-Tok'en\"9-q"  # the AWX controller's token: secret, and in every request's header
SECRETS = (TOKEN, KEYFILE, CERT, LISTED, LITERAL, AWX_TOKEN)


def _shell_forms(value: str) -> set[str]:
    double = '"' + "".join("\\" + c if c in '"\\$`' else c for c in value) + '"'
    trace = "'" + value.replace("'", "'\\''") + "'"  # bash -x, ${x@Q}
    escaped = "".join(c if c.isalnum() or c in "-_./=+" else "\\" + c for c in value)  # printf %q
    return {shlex.quote(value), double, trace, escaped}


def _forms_of(value: str) -> set[str]:
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        ascii(value)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
        value.replace("&", "&amp;").replace('"', "&#34;").replace("'", "&#39;"),  # MarkupSafe (Jinja2)
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        *_shell_forms(value),
    }


def fragments(line: str) -> set[str]:
    """Pieces of `line` around its quotes and backslashes: every 5 characters with one that is not a
    letter or digit, every 4 with two (fewer would be ordinary text: `ine'` is in "line's")."""
    odd = [not (c.isascii() and c.isalnum()) for c in line]
    five = {line[i : i + 5] for i in range(len(line) - 4) if any(odd[i : i + 5])}
    return five | {line[i : i + 4] for i in range(len(line) - 3) if sum(odd[i : i + 4]) >= 2}


def forms(secret: str) -> set[str]:
    """Every form of `secret` searched for: the whole value (LF and CRLF), each line of it and, for a
    secret with quotes or backslashes, its fragments around them."""
    found: set[str] = set()
    for value in {secret, secret.replace("\r\n", "\n"), secret.replace("\r\n", "\n").replace("\n", "\r\n")}:
        found |= _forms_of(value)
    lines = [line.strip() for line in secret.splitlines()]
    for line in lines if len(lines) > 1 else ():
        found |= _forms_of(line)
    for line in secret.splitlines() if any(c in secret for c in "\"'\\") else ():
        found |= {form for gram in fragments(line) for form in _forms_of(gram)}
    return {f for f in found if len(f) >= 3}


def sink(rel: str) -> str:
    """The place a leaked file belongs to, for the failure message (leaks are counted per sink)."""
    parts = rel.split("/")
    if parts[0] == "unpacked":
        return "bundle"
    if parts[0] == "run" and len(parts) > 1:
        name = parts[1]
        return {"logs": "step logs", "artifacts": "ansible artifacts"}.get(name, name)
    return rel


def leaks_in(root: Path, secrets: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(file, form) for every form of every secret found in any file under `root` (pdf: its text)."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".zip":
            continue  # compressed: its files are searched unpacked
        data = path.read_bytes()
        if path.suffix == ".pdf":  # compressed streams: search the text
            data = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout
        for secret in secrets:
            if path.name in skip and secret == LITERAL:
                continue  # written literally in the scenario: it is in the scenario's copy by design
            found += [(rel, form) for form in sorted(forms(secret)) if form.encode() in data]
    return found


def report(leaks: list[tuple[str, str]]) -> str:
    per_sink = collections.Counter(sink(rel) for rel, _ in leaks)
    return f"{len(leaks)} leaks per sink {dict(per_sink)}: {leaks[:40]}"


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    yield from serve(http_server())


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    yield from serve(smtp_server())


@pytest.fixture(scope="module")
def robots() -> Iterator[tuple[Robots, int]]:
    """The chat robots' stand-in (tests/unit/robots.py): the notifications are sent to it."""
    state = Robots()
    for port in robots_server(state):
        yield state, port


@pytest.fixture(scope="module")
def awx_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The AWX contract stand-in (not AWX: see awx_standin.py). Its own work directory, outside the
    directory searched for leaks, is the controller's side, which is given the secrets on purpose."""
    standin = StandIn(token=AWX_TOKEN, workdir=tmp_path_factory.mktemp("awx-controller"))
    standin.add_template("Canary", CANARY / "leak.yml", ask={"variables", "limit"})
    yield standin.serve()
    standin.close()


def scenario(
    tmp_path: Path, sshd: SshdServer, http_port: int, smtp_port: int, awx_url: str, robots: int
) -> Path:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"local ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    url = f"http://127.0.0.1:{http_port}/echo"
    text = f"""\
version: 1
name: canary
title: canary
environment: lab
secret_vars: [listed, cert_body]
inventory: {inventory}
awx: {{url: "{awx_url}", token_var: AWX_TOKEN, poll_interval: 0.2}}
notify:
  console_url: "http://127.0.0.1:8470"
  channels:
    chat:
      dingtalk: {{access_token: "{{{{ api_token }}}}", secret: "{{{{ cert_body }}}}",
                 url: "http://127.0.0.1:{robots}/dingtalk"}}
    hook:
      webhook: {{url: "http://127.0.0.1:{robots}/webhook?k={{{{ listed | urlencode }}}}",
                secret: "{{{{ ssh_key_text }}}}", headers: {{Authorization: "Bearer {{{{ listed }}}}"}}}}
systems:
  app: {{title: App, rto: 1h, rpo: 1h}}
hosts:
  box: {{address: {sshd.host}, port: {sshd.port}, user: {sshd.user}, key: {sshd.user_key},
         known_hosts: {sshd.known_hosts}}}
defaults: {{timeout: 2m, on_failure: ignore}}
steps:
  - {{id: run-string, run: "echo {{{{ api_token }}}} {{{{ listed }}}}; printf '%s' {{{{ ssh_key_text }}}}"}}
  - id: run-list
    run: [printf, "%s|%s|%s", "{{{{ api_token }}}}", "{{{{ ssh_key_text }}}}", "{{{{ cert_body }}}}"]
  - id: run-env
    run:
      command: 'echo "$T"; env | grep -c T=; bash -xc ''printf %q "$1"; : "$1"'' _ "$T"'
      env: {{T: "{{{{ api_token }}}}"}}
  - id: ssh-step
    ssh:
      host: box
      command: "echo {{{{ api_token }}}}; echo {{{{ listed }}}} >&2; echo {{{{ cert_body }}}}"
  - id: ansible-step
    ansible:
      playbook: {CANARY / "leak.yml"}
      extravars: {{api_token: "{{{{ api_token }}}}", ssh_key_text: "{{{{ ssh_key_text }}}}",
                  cert_body: "{{{{ cert_body }}}}", vault_password: "{LITERAL}"}}
  - id: awx-step
    awx:
      template: Canary
      limit: dr-1
      extra_vars: {{api_token: "{{{{ api_token }}}}", ssh_key_text: "{{{{ ssh_key_text }}}}",
                   cert_body: "{{{{ cert_body }}}}", vault_password: "{LITERAL}"}}
  - id: check-command
    check: {{command: {{command: "echo {{{{ api_token }}}}", contains: "never there {{{{ listed }}}}"}}}}
  - id: check-ssh
    check: {{ssh: {{host: box, command: "echo {{{{ api_token }}}}", contains: "{{{{ api_token }}}}"}}}}
  - id: check-python
    systems: [app]
    check:
      python: "{CANARY / "leaky_check.py"}:show"
      args: {{token: "{{{{ api_token }}}}", key: "{{{{ ssh_key_text }}}}"}}
  - {{id: check-tcp, check: {{tcp: {{host: {sshd.host}, port: {sshd.port}}}}}}}
  - id: check-http
    check: {{http: {{url: "{url}?token={{{{ api_token | urlencode }}}}&l={{{{ listed | urlencode }}}}",
                     json: {{query.token: "{{{{ api_token }}}}"}}}}}}
  - id: check-http-fails
    check: {{http: {{url: "{url}?token={{{{ api_token | urlencode }}}}", contains: "{{{{ api_token }}}}"}}}}
  - {{id: check-smtp, check: {{smtp: {{host: 127.0.0.1, port: {smtp_port}}}}}}}
  - {{id: confirm, manual: {{prompt: "confirm with {{{{ listed }}}}"}}}}
  - {{id: pause, wait: 10ms}}
  - {{id: retried, run: "echo {{{{ api_token }}}}; exit 1", retries: 1, retry_delay: 10ms}}
  - id: app-up
    run: "echo up {{{{ api_token }}}}; date -u +%Y-%m-%dT%H:%M:%SZ"
    recovers: [app]
    rpo_of: [app]
  - {{id: last, run: "echo {{{{ api_token }}}} >&2; exit 4", on_failure: abort}}
rollback:
  - {{id: undo, run: "echo undo {{{{ api_token }}}} {{{{ listed }}}}"}}
"""
    path = tmp_path / "canary.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def drill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


SECRET_ARGS = [
    *("--var", f"api_token={TOKEN}"),
    *("--var", f"ssh_key_text={KEYFILE}"),
    *("--var", f"cert_body={CERT}"),
    *("--var", f"listed={LISTED}"),
    *("--var", f"AWX_TOKEN={AWX_TOKEN}"),
]


def test_no_form_of_a_secret_reaches_any_byte_the_run_leaves(
    tmp_path: Path,
    sshd: SshdServer,
    http_port: int,
    smtp_port: int,
    awx_url: str,
    robots: tuple[Robots, int],
) -> None:
    run_dir = tmp_path / "run"
    path = scenario(tmp_path, sshd, http_port, smtp_port, awx_url, robots[1])
    metrics = tmp_path / "metrics.prom"
    argv = ["run", str(path), "--run-dir", str(run_dir), "--auto-ack", "--metrics-textfile", str(metrics)]
    result = drill(*argv, *SECRET_ARGS, cwd=tmp_path)
    assert result.returncode == 3, result.stderr  # `last` aborts: the rollback runs too
    lines = (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    finished = {e["step"]: e["status"] for e in map(json.loads, lines) if e["event"] == "step.finished"}
    for step in (
        "ssh-step",
        "ansible-step",
        "awx-step",
        "undo",
        "check-python",
        "check-http",
        "check-smtp",
        "confirm",
    ):
        assert finished[step] == "ok", (step, finished)
    for step in ("check-command", "check-http-fails", "retried", "last"):
        assert finished[step] == "failed", (step, finished)
    outputs = [result.stdout, result.stderr]
    for fmt in ("html", "md", "json", "junit", "pdf"):
        rendered = drill(
            "report",
            str(run_dir),
            "--format",
            fmt,
            "--lang",
            "zh",
            "-o",
            str(run_dir / f"zh.{fmt}"),
            cwd=tmp_path,
        )
        assert rendered.returncode == 0, rendered.stderr
    pdf = drill("report", str(run_dir), "--format", "pdf", cwd=tmp_path)
    assert pdf.returncode == 0, pdf.stderr
    verified = drill("verify", str(run_dir), cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    bundle = tmp_path / "bundle.zip"
    exported = drill("export", str(run_dir), "-o", str(bundle), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    outputs += [verified.stdout, exported.stdout, exported.stderr]
    zipfile.ZipFile(bundle).extractall(tmp_path / "unpacked")
    (tmp_path / "terminal.txt").write_text("\n".join(outputs), encoding="utf-8")
    sent = {r.platform for r in robots[0].received}
    assert sent == {"dingtalk", "webhook"}, "the notifications were not sent"
    (tmp_path / "chat.txt").write_text(  # the messages (not their URLs, which carry the robots' keys)
        "\n".join(json.dumps(r.body, ensure_ascii=False) for r in robots[0].received), encoding="utf-8"
    )
    leaks = leaks_in(tmp_path, SECRETS, skip=("canary.yaml", "scenario.yaml"))
    assert leaks == [], report(leaks)
    searched = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(searched) > 30 and metrics.is_file() and (tmp_path / "unpacked" / "journal.jsonl").is_file()
    assert list(run_dir.glob("artifacts/ansible-step-1/job_events/*.json")), "no Ansible event was searched"
    assert "***" in (run_dir / "logs" / "run-env.log").read_text(encoding="utf-8")
    assert "token=*** key=*** cert=*** vault=***" in (run_dir / "logs" / "awx-step.log").read_text(
        encoding="utf-8"
    )


def test_a_validation_error_never_prints_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nname: bad\ntitle: bad\nenvironment: lab\nsystems: {}\n"
        'steps:\n  - {id: a, run: "true", timeout: "{{ db_password }}"}\n'
        '  - {id: b, run: "true", retries: "{{ api_token }}"}\n',
        encoding="utf-8",
    )
    secrets = ["--var", f"db_password={TOKEN}", "--var", f"api_token={KEYFILE}"]
    for command in ("validate", "plan", "run"):
        result = drill(command, str(path), *secrets, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "bad.yaml:7:35: steps[a].timeout" in result.stderr and "***" in result.stderr, result.stderr
        (tmp_path / f"{command}.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    leaks = leaks_in(tmp_path, (TOKEN, KEYFILE), skip=("bad.yaml",))
    assert leaks == [], report(leaks)


def test_kill_during_an_ansible_step_then_resume_and_export_leaks_nothing(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"local ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    path = tmp_path / "crash.yaml"
    path.write_text(
        "version: 1\nname: crash\ntitle: crash\nenvironment: lab\nsystems: {}\n"
        f"inventory: {inventory}\nsteps:\n  - id: play\n    ansible:\n"
        f"      playbook: {CANARY / 'slow_leak.yml'}\n"
        '      extravars: {api_token: "{{ api_token }}", nap: "{{ nap }}"}\n',
        encoding="utf-8",
    )
    run_dir = tmp_path / "run"
    argv = [sys.executable, "-m", "bcdrill.cli", "run", str(path), "--run-dir", str(run_dir)]
    runner = subprocess.Popen(
        [*argv, "--var", f"api_token={TOKEN}", "--var", "nap=30"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(run_dir.glob("artifacts/play-1/job_events/*.json")):
        time.sleep(0.1)
    time.sleep(1.0)  # the debug task's event is written, the sleep task runs
    os.killpg(runner.pid, signal.SIGKILL)
    runner.wait()
    resumed = drill(
        "resume",
        str(run_dir),
        *("--mark-done", "play", "--by", "Li Si"),
        *("--var", f"api_token={TOKEN}", "--var", "nap=0"),
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    bundle = tmp_path / "bundle.zip"
    exported = drill("export", str(run_dir), "-o", str(bundle), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    zipfile.ZipFile(bundle).extractall(tmp_path / "unpacked")
    (tmp_path / "terminal.txt").write_text(
        resumed.stdout + resumed.stderr + exported.stdout, encoding="utf-8"
    )
    leaks = leaks_in(tmp_path, (TOKEN,))
    assert leaks == [], report(leaks)
