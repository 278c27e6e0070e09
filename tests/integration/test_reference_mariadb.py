"""The MariaDB reference drill (scenarios/reference/mariadb-failover.yaml) run by a real `drill run`
against two real MariaDB servers from Debian's package — a primary and a GTID replica on loopback
ports — through real ansible-playbook. A writer commits a row every 50 ms at production until the
disaster. The drill's RTO and RPO are checked against the truth the test takes from the servers: the
first moment a poller finds the DR server writable, and the newest production row it holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sshd import free_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "reference" / "mariadb-failover.yaml"
MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
PASSWORD = "drill-Pw'9"
QUOTED = PASSWORD.replace("'", "''")  # as an SQL string literal
CNF = """\
[mariadbd]
datadir = {base}/{name}
socket = {base}/{name}.sock
pid-file = {base}/{name}.pid
log-error = {base}/{name}.err
port = {port}
bind-address = 127.0.0.1
skip-name-resolve
server_id = {server_id}
log_bin = {base}/{name}-bin
binlog_format = ROW
gtid_strict_mode = ON
log_slave_updates = ON
read_only = {read_only}
innodb_buffer_pool_size = 32M
innodb_flush_log_at_trx_commit = 2
{user}
"""


class Pair:
    """A primary and a GTID replica in a temporary directory the mysql user owns."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="bcdrill-mariadb-"))
        self.base.chmod(0o755)
        root = os.geteuid() == 0
        if root:
            shutil.chown(self.base, "mysql", "mysql")
        self.ports = {"primary": free_port(), "replica": free_port()}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        for server_id, name in enumerate(self.ports, start=1):
            cnf = self.base / f"{name}.cnf"
            cnf.write_text(
                CNF.format(
                    base=self.base,
                    name=name,
                    port=self.ports[name],
                    server_id=server_id,
                    read_only="ON" if name == "replica" else "OFF",
                    user="user = mysql" if root else "",
                )
            )
            install = [
                "mariadb-install-db",
                f"--defaults-file={cnf}",
                "--auth-root-authentication-method=normal",
            ]
            subprocess.run([*install, "--skip-test-db"], check=True, capture_output=True, timeout=120)
            self.start(name)
        account = (
            "SET sql_log_bin = 0;"
            f" CREATE USER 'drill'@'127.0.0.1' IDENTIFIED BY '{QUOTED}';"
            " GRANT ALL ON *.* TO 'drill'@'127.0.0.1'; SET sql_log_bin = 1;"
        )
        for name in self.ports:
            self.local(name, account)
        self.local(
            "primary",
            "CREATE DATABASE drill; CREATE TABLE drill.drill_writes (id INT AUTO_INCREMENT PRIMARY KEY,"
            " site VARCHAR(20) NOT NULL DEFAULT 'production',"
            " at DOUBLE NOT NULL DEFAULT (UNIX_TIMESTAMP(NOW(6))))",
        )
        self.sql(
            "replica",
            f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={self.ports['primary']},"
            f" MASTER_USER='drill', MASTER_PASSWORD='{QUOTED}',"
            " MASTER_USE_GTID=slave_pos; START REPLICA",
        )
        deadline = time.monotonic() + 30
        while (
            self.sql(
                "replica", "SELECT COUNT(*) FROM information_schema.tables WHERE table_name='drill_writes'"
            )
            != "1"
        ):
            assert time.monotonic() < deadline, "the replica never got the table"
            time.sleep(0.1)

    def start_command(self, name: str) -> str:
        return f"setsid {MARIADBD} --defaults-file={self.base}/{name}.cnf </dev/null >/dev/null 2>&1 &"

    def start(self, name: str) -> None:
        subprocess.run(["sh", "-c", self.start_command(name)], check=True, timeout=30)
        deadline = time.monotonic() + 60
        while (
            subprocess.run(
                ["mariadb-admin", f"--socket={self.base}/{name}.sock", "-uroot", "ping"],
                capture_output=True,
                timeout=30,
            ).returncode
            != 0
        ):
            assert time.monotonic() < deadline, (self.base / f"{name}.err").read_text(errors="replace")
            time.sleep(0.1)

    def local(self, name: str, statement: str) -> None:
        subprocess.run(
            ["mariadb", f"--socket={self.base}/{name}.sock", "-uroot", "-e", statement],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def sql(self, name: str, statement: str) -> str:
        done = subprocess.run(
            [
                "mariadb",
                "--protocol=tcp",
                "-h127.0.0.1",
                f"-P{self.ports[name]}",
                "-udrill",
                f"-p{PASSWORD}",
                "-Ddrill" if name != "replica" or "drill_writes" in statement else "-Dmysql",
                "-N",
                "-B",
                "-e",
                statement,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout.strip()

    def inventory(self, path: Path) -> Path:
        lines = []
        for name, port in self.ports.items():
            lines.append(f"[mariadb_{name}]\n")
            lines.append(f"db-{name} db_port={port} mariadb_start='{self.start_command(name)}'\n")
        lines.append(f"[all:vars]\nansible_connection=local\nansible_python_interpreter={sys.executable}\n")
        lines.append("db_host=127.0.0.1\ndb_user=drill\n")
        path.write_text("".join(lines), encoding="utf-8")
        return path

    def stop(self) -> None:
        for name in self.ports:
            pid = self.base / f"{name}.pid"
            if pid.exists():
                subprocess.run(["kill", "-9", pid.read_text().strip()], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def pair() -> Iterator[Pair]:
    if not os.access(MARIADBD, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail("MariaDB is required in CI: apt-get install mariadb-server")
        pytest.skip("MariaDB is not installed")
    made = Pair()
    try:
        yield made
    finally:
        made.stop()


class Writer(threading.Thread):
    def __init__(self, pair: Pair) -> None:
        super().__init__(daemon=True)
        self.pair = pair
        self.committed = 0

    def run(self) -> None:
        while True:
            try:
                self.pair.sql("primary", "INSERT INTO drill_writes () VALUES ()")
            except (RuntimeError, subprocess.TimeoutExpired):
                return
            self.committed += 1
            time.sleep(0.05)


class PromotionWatch(threading.Thread):
    def __init__(self, pair: Pair) -> None:
        super().__init__(daemon=True)
        self.pair = pair
        self.writable_at: float | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.writable_at is None:
            try:
                if self.pair.sql("replica", "SELECT @@read_only") == "0":
                    self.writable_at = time.time()
            except RuntimeError:
                pass
            time.sleep(0.02)


def test_promote_the_gtid_replica_reattach_and_the_rto_rpo_match_the_servers(
    pair: Pair, tmp_path: Path
) -> None:
    writer, watch = Writer(pair), PromotionWatch(pair)
    writer.start()
    watch.start()
    time.sleep(1.0)
    run_dir = tmp_path / "run"
    argv = ["run", str(SCENARIO), "--run-dir", str(run_dir), "--auto-ack"]
    argv += ["--inventory", str(pair.inventory(tmp_path / "databases.ini"))]
    argv += [
        "--var",
        "dr_host=127.0.0.1",
        "--var",
        f"dr_port={pair.ports['replica']}",
        "--var",
        f"db_password={PASSWORD}",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "bcdrill.cli", *argv], capture_output=True, text=True, timeout=600
    )
    watch.done.set()
    writer.join(30)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    assert writer.committed > 10 and not writer.is_alive()

    records = [
        json.loads(line) for line in (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    declared = next(r for r in records if r["event"] == "clock.declared")
    t0 = datetime.fromisoformat(declared["t0_ts"].replace("Z", "+00:00")).timestamp()
    core: dict[str, Any] = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["systems"][
        "e-sales-db"
    ]
    newest = float(pair.sql("replica", "SELECT MAX(at) FROM drill_writes WHERE site = 'production'"))
    assert watch.writable_at is not None
    rto_truth, rpo_truth = watch.writable_at - t0, t0 - newest
    print(
        f"mariadb: RTO measured {core['rto_achieved']:.3f}s vs writable at {rto_truth:.3f}s; "
        f"RPO measured {core['rpo_achieved']:.3f}s vs newest row at DR {rpo_truth:.3f}s before T0"
    )
    assert abs(core["rto_achieved"] - rto_truth) < 1.0
    assert abs(core["rpo_achieved"] - rpo_truth) < 1.0
    assert core["rto_met"] is True and core["rpo_met"] is True
    assert PASSWORD not in (run_dir / "journal.jsonl").read_text(encoding="utf-8")

    # the old primary replicates from DR by GTID and has the DR write
    assert pair.sql("primary", "SELECT @@read_only") == "1"
    deadline = time.monotonic() + 30
    while pair.sql("primary", "SELECT COUNT(*) FROM drill_writes WHERE site = 'dr'") != "1":
        assert time.monotonic() < deadline, "the DR write never reached the re-attached old primary"
        time.sleep(0.1)
