"""Canary secrets through every step kind, every report and the evidence bundle: 0 leaks in any form.

The secrets hold a quote, a double quote, a backslash, a dollar and non-ASCII text, and one is a
multi-line key file; they reach the run by --var and by `secret_vars:`. Every byte the run leaves —
journal, logs, summary, reports (html, md, json, junit, pdf), Ansible artifacts, drill.log, the
evidence bundle unpacked — is searched for every form the secrets take on the way out.
"""

from __future__ import annotations

import html
import json
import shlex
import subprocess
import sys
import urllib.parse
import zipfile
from pathlib import Path

from sshd import SshdServer

CANARY = Path(__file__).parent / "canary"
TOKEN = "Tok\"Dq\\Bs-ö9'x$y"
KEYFILE = (
    "-----BEGIN CANARY KEY-----\nQ2FuYXJ5S2V5TGluZU9uZQ==\nQ2FuYXJ5S2V5TGluZVR3bw==\n-----END CANARY KEY-----"
)
LISTED = "listed-Zq9#Vw!"  # secret because secret_vars names it, not by its name


def forms(secret: str) -> set[str]:
    found = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        shlex.quote(secret),
        html.escape(secret),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }
    lines = secret.splitlines()
    for line in lines if len(lines) > 1 else ():
        if len(line.strip()) >= 8:
            found |= forms(line.strip())
    for piece in ("Bs-ö9", "x$y"):  # pieces of TOKEN between its quotes and backslash
        if piece in secret:
            found.add(piece)
    return found


def scenario(tmp_path: Path, sshd: SshdServer) -> Path:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"local ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    text = f"""\
version: 1
name: canary
title: canary
environment: lab
secret_vars: [listed]
inventory: {inventory}
systems:
  app: {{title: App, rto: 1h, rpo: 1h}}
hosts:
  box: {{address: {sshd.host}, port: {sshd.port}, user: {sshd.user}, key: {sshd.user_key},
         known_hosts: {sshd.known_hosts}}}
defaults: {{timeout: 2m, on_failure: ignore}}
steps:
  - {{id: run-string, run: "echo {{{{ api_token }}}} {{{{ listed }}}}; printf '%s' {{{{ ssh_key_text }}}}"}}
  - {{id: run-list, run: [printf, "%s|%s", "{{{{ api_token }}}}", "{{{{ ssh_key_text }}}}"]}}
  - id: run-env
    run: {{command: 'echo "$T"; env | grep -c T=', env: {{T: "{{{{ api_token }}}}"}}}}
  - {{id: ssh-step, ssh: {{host: box, command: "echo {{{{ api_token }}}}; echo {{{{ listed }}}} >&2"}}}}
  - id: ansible-step
    ansible:
      playbook: {CANARY / "leak.yml"}
      extravars: {{api_token: "{{{{ api_token }}}}", ssh_key_text: "{{{{ ssh_key_text }}}}"}}
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


def test_no_form_of_a_secret_reaches_any_byte_the_run_leaves(tmp_path: Path, sshd: SshdServer) -> None:
    run_dir = tmp_path / "run"
    secret_args = [
        "--var",
        f"api_token={TOKEN}",
        "--var",
        f"ssh_key_text={KEYFILE}",
        "--var",
        f"listed={LISTED}",
    ]
    result = drill(
        "run",
        str(scenario(tmp_path, sshd)),
        "--run-dir",
        str(run_dir),
        "--auto-ack",
        *secret_args,
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr  # `last` aborts: the rollback runs too
    events = [
        json.loads(line) for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    finished = {e["step"]: e["status"] for e in events if e["event"] == "step.finished"}
    assert finished["ssh-step"] == "ok" and finished["ansible-step"] == "ok" and finished["undo"] == "ok", (
        finished
    )
    assert finished["check-python"] == "ok" and finished["check-command"] == "failed", finished
    for fmt in ("html", "md", "json", "junit", "pdf"):
        report = drill(
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
        assert report.returncode == 0, report.stderr
    bundle = tmp_path / "bundle.zip"
    exported = drill("export", str(run_dir), "-o", str(bundle), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    zipfile.ZipFile(bundle).extractall(tmp_path / "unpacked")
    leaks = []
    everything = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix not in (".yaml",)]
    everything = [p for p in everything if "canary.yaml" not in p.name and p.name != "scenario.yaml"]
    for path in everything:
        data = path.read_bytes()
        for secret in (TOKEN, KEYFILE, LISTED):
            for form in forms(secret):
                if form.encode() in data:
                    leaks.append((str(path.relative_to(tmp_path)), form))
    for stream in (result.stdout, result.stderr):
        for secret in (TOKEN, KEYFILE, LISTED):
            leaks += [("terminal", f) for f in forms(secret) if f in stream]
    assert leaks == [], leaks
    assert len(everything) > 20  # the search covered the run: journal, logs, reports, artifacts, bundle


def test_kill_during_an_ansible_step_then_resume_and_export_leaks_nothing(tmp_path: Path) -> None:
    import os
    import signal
    import time

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
        "--mark-done",
        "play",
        "--by",
        "Li Si",
        "--var",
        f"api_token={TOKEN}",
        "--var",
        "nap=0",
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    bundle = tmp_path / "bundle.zip"
    assert drill("export", str(run_dir), "-o", str(bundle), cwd=tmp_path).returncode == 0
    zipfile.ZipFile(bundle).extractall(tmp_path / "unpacked")
    leaks = [
        (str(p.relative_to(tmp_path)), form)
        for p in tmp_path.rglob("*")
        if p.is_file() and p.suffix != ".yaml"
        for form in forms(TOKEN)
        if form.encode() in p.read_bytes()
    ]
    assert leaks == [], leaks
