"""Remote execution benchmarks (issue 3). Not tests: run by hand, figures go to bench/RESULTS.md.

    .venv/bin/python bench/bench_remote.py              # both
    .venv/bin/python bench/bench_remote.py ssh          # ssh step vs raw paramiko
    .venv/bin/python bench/bench_remote.py ansible      # ansible step vs ansible-playbook
    BENCH_SSH_N=500 BENCH_ANSIBLE_N=7 .venv/bin/python bench/bench_remote.py

ssh: a real OpenSSH sshd on loopback (tests/integration/sshd.py). One `ssh` step is timed through the
executor API (`run_ssh` with a hand-built StepContext on a shared, already-open connection, as the
tests do) and interleaved with the same command through raw paramiko `exec_command` on a transport of
its own with TCP_NODELAY; median and p10 of each, and the difference of the medians (target ≤ 2 ms).

ansible: one playbook (tests/integration/playbooks/local_ok.yml, local connection) as an `ansible`
step (`run_ansible`: ansible-runner, events to a journal list, masked log) and as `ansible-playbook`
started directly with the same environment; one warm-up each, then alternating runs; ratio of the
means (target ≤ 1.05).

Each figure is one line with its target and verdict. The load average is printed first: these are
wall-clock figures, compare them only at a similar load.
"""

from __future__ import annotations

import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from sshd import SshdServer, make_ctx, start_sshd, stop_sshd  # noqa: E402

from bcdrill.executors.ansible import run_ansible  # noqa: E402
from bcdrill.executors.base import Resources  # noqa: E402
from bcdrill.executors.ssh import run_ssh  # noqa: E402
from bcdrill.executors.transport.ansible import ansible_bin_dir, ansible_env  # noqa: E402
from bcdrill.scenario.model import AnsibleAction, SshAction  # noqa: E402

WORK = Path(tempfile.mkdtemp(prefix="bcdrill-bench-remote-"))
SSH_TARGET_MS = 2.0
ANSIBLE_TARGET_RATIO = 1.05
COMMAND = "true"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * p), len(ordered) - 1)]


def raw_transport(server: SshdServer) -> Any:
    """paramiko as a careful user would set it up: TCP_NODELAY, host key checked, key auth."""
    import socket

    import paramiko

    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    transport.start_client(timeout=10)
    kind, blob = server.host_pubkey.split()
    expected = paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
    assert transport.get_remote_server_key() == expected, "host key mismatch"
    transport.auth_publickey(server.user, paramiko.PKey.from_path(str(server.user_key)))
    return transport


def raw_exec(transport: Any) -> float:
    start = time.perf_counter()
    chan = transport.open_session()
    chan.exec_command(COMMAND)
    while chan.recv(65536):
        pass
    code = chan.recv_exit_status()
    chan.close()
    elapsed = time.perf_counter() - start
    assert code == 0
    return elapsed


def bench_ssh() -> str:
    n = int(os.environ.get("BENCH_SSH_N", "300"))
    (WORK / "sshd").mkdir()
    server = start_sshd(WORK / "sshd")
    resources = Resources()
    transport = raw_transport(server)
    try:
        entry = server.host_entry()
        action = SshAction(host=entry.name, command=COMMAND)

        def step() -> float:
            ctx = make_ctx(action, hosts={entry.name: entry}, resources=resources, timeout=30.0)
            start = time.perf_counter()
            outcome = run_ssh(action, ctx)
            elapsed = time.perf_counter() - start
            assert outcome.ok, outcome
            return elapsed

        for _ in range(20):  # warm-up: connection open, code paths hot
            step()
            raw_exec(transport)
        ours: list[float] = []
        raw: list[float] = []
        for i in range(n):
            pair: list[tuple[list[float], Callable[[], float]]] = [
                (ours, step),
                (raw, lambda: raw_exec(transport)),
            ]
            for into, fn in pair if i % 2 == 0 else reversed(pair):
                into.append(fn())
    finally:
        transport.close()
        resources.close_all()
        stop_sshd(server)
    med_ours, med_raw = statistics.median(ours) * 1e3, statistics.median(raw) * 1e3
    diff = med_ours - med_raw
    verdict = "OK" if diff <= SSH_TARGET_MS else "MISSED"
    return (
        f"ssh step overhead vs raw paramiko exec_command ({COMMAND!r}, reused connection, n={n}): "
        f"step median {med_ours:.2f} ms p10 {percentile(ours, 0.1) * 1e3:.2f} ms; "
        f"raw median {med_raw:.2f} ms p10 {percentile(raw, 0.1) * 1e3:.2f} ms; "
        f"difference {diff:+.2f} ms (target <= {SSH_TARGET_MS:g} ms) {verdict}"
    )


def bench_ansible() -> str:
    n = int(os.environ.get("BENCH_ANSIBLE_N", "5"))
    playbook = ROOT / "tests" / "integration" / "playbooks" / "local_ok.yml"
    inventory = WORK / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    target = WORK / "touched"
    extravars = {"target_file": str(target), "greeting": "bench"}

    def step() -> float:
        run_dir = WORK / f"run-{uuid.uuid4().hex[:8]}"
        action = AnsibleAction(playbook=str(playbook), inventory=str(inventory), extravars=extravars)
        ctx = make_ctx(action, timeout=300.0, base=run_dir)
        start = time.perf_counter()
        outcome = run_ansible(action, ctx)
        elapsed = time.perf_counter() - start
        assert outcome.ok, outcome
        return elapsed

    def direct() -> float:
        control = tempfile.mkdtemp(prefix="bcdrill-ans-")
        env = {**os.environ, **ansible_env(uuid.uuid4().hex, control)}
        argv = [
            os.path.join(ansible_bin_dir(), "ansible-playbook"),
            "-i",
            str(inventory),
            "-e",
            f"target_file={target} greeting=bench",
            str(playbook),
        ]
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=playbook.parent, env=env, capture_output=True)
        elapsed = time.perf_counter() - start
        assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
        return elapsed

    step()
    direct()
    ours: list[float] = []
    raw: list[float] = []
    for i in range(n):
        pair: list[tuple[list[float], Callable[[], float]]] = [(ours, step), (raw, direct)]
        for into, fn in pair if i % 2 == 0 else reversed(pair):
            into.append(fn())
    ratio = statistics.mean(ours) / statistics.mean(raw)
    verdict = "OK" if ratio <= ANSIBLE_TARGET_RATIO else "MISSED"
    return (
        f"ansible step vs ansible-playbook (local_ok.yml, {n} alternating runs after a warm-up): "
        f"step mean {statistics.mean(ours):.3f} s, ansible-playbook mean {statistics.mean(raw):.3f} s, "
        f"ratio {ratio:.3f} (target <= {ANSIBLE_TARGET_RATIO}) {verdict}; "
        f"medians {statistics.median(ours):.3f} s / {statistics.median(raw):.3f} s"
    )


BENCHES: dict[str, Callable[[], str]] = {"ssh": bench_ssh, "ansible": bench_ansible}


def main(names: list[str]) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load {load}")
    for name in names or list(BENCHES):
        print(f"- {BENCHES[name]()}", flush=True)
    print(f"# load after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(sys.argv[1:])
