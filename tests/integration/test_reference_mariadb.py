"""The MariaDB reference drill (scenarios/reference/mariadb-failover.yaml) run by a real `drill run`
against two real MariaDB servers from Debian's package — a primary and a GTID replica on loopback
ports — through real ansible-playbook. A writer commits a row every 50 ms at production until the
disaster. The drill's RTO and RPO are checked against the truth the test takes from the servers: DR's
own timestamp of the drill's proving write (and the first moment a poller finds DR writable: the drill
must not claim recovery before it), and the newest production row DR holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbtruth import Truth, check_rehearsal, drill_under_traffic, run_drill, wait_until
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
        if os.geteuid() == 0:
            shutil.chown(self.base, "mysql", "mysql")
        self.ports = {"primary": free_port(), "replica": free_port()}
        self.root = os.geteuid() == 0

    def setup(self) -> None:
        """Make, start and connect the servers (stop() cleans up after a failure here too)."""
        for server_id, name in enumerate(self.ports, start=1):
            cnf = self.base / f"{name}.cnf"
            cnf.write_text(
                CNF.format(
                    base=self.base,
                    name=name,
                    port=self.ports[name],
                    server_id=server_id,
                    read_only="ON" if name == "replica" else "OFF",
                    user="user = mysql" if self.root else "",
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
        table = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name='drill_writes'"
        wait_until(lambda: self.sql("replica", table) == "1", "the replica never got the table")

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
        made.setup()
        yield made
    finally:
        made.stop()


def test_promote_the_gtid_replica_reattach_and_the_rto_rpo_match_the_servers(
    pair: Pair, tmp_path: Path
) -> None:
    variables = {"dr_host": "127.0.0.1", "dr_port": str(pair.ports["replica"]), "db_password": PASSWORD}
    inventory = pair.inventory(tmp_path / "databases.ini")
    # a --dry-run rehearsal first: replication is checked for real, and nothing changes
    rehearsal = run_drill(SCENARIO, tmp_path / "dry-run", inventory, variables, dry_run=True)
    judge = "Both threads run, GTID mode, within the lag limit"
    check_rehearsal(rehearsal, "SHOW REPLICA STATUS", judge, "stop-production", "Shut the primary down")
    assert pair.sql("replica", "SELECT @@read_only") == "1"
    assert pair.sql("primary", "SELECT @@read_only") == "0"
    assert pair.sql("replica", "SELECT COUNT(*) FROM drill.drill_writes") == "0"

    drill, promoted = drill_under_traffic(
        SCENARIO,
        tmp_path / "run",
        inventory,
        variables,
        write=lambda: pair.sql("primary", "INSERT INTO drill.drill_writes () VALUES ()"),
        promoted=lambda: pair.sql("replica", "SELECT @@read_only") == "0",
    )

    core = drill.system("e-sales-db")
    newest = float(pair.sql("replica", "SELECT MAX(at) FROM drill.drill_writes WHERE site = 'production'"))
    assert pair.sql("replica", "SELECT COUNT(*) FROM drill.drill_writes WHERE site = 'dr'") == "1"
    dr_write = float(pair.sql("replica", "SELECT at FROM drill.drill_writes WHERE site = 'dr'"))
    truth = Truth(t0=drill.t0, promoted=promoted, dr_write=dr_write, newest=newest)
    print(f"mariadb: {truth.compare(core)}")
    truth.check(core)
    journal = (drill.run_dir / "journal.jsonl").read_text(encoding="utf-8")
    assert PASSWORD not in journal
    # the client gets the password in its environment (MYSQL_PWD), not on a command line ps shows
    started = [json.loads(line) for line in journal.splitlines() if '"step.started"' in line]
    commands = {r["step"]: r["action"] for r in started if r["kind"] == "run"}
    assert set(commands) == {"dr-writes", "newest-at-dr"}, commands
    for action in commands.values():
        assert not [arg for arg in action["command"] if arg.startswith(("-p", "--password"))], action
        assert action["env"] == {"MYSQL_PWD": "***"}, action

    # the old primary replicates from DR by GTID and has the DR write
    assert pair.sql("primary", "SELECT @@read_only") == "1"
    wait_until(
        lambda: pair.sql("primary", "SELECT COUNT(*) FROM drill.drill_writes WHERE site = 'dr'") == "1",
        "the DR write never reached the re-attached old primary",
    )
