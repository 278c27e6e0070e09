"""The PostgreSQL reference drill (scenarios/reference/postgres-failover.yaml) run by a real
`drill run` against two real PostgreSQL servers from Debian's package — a primary and a streaming
standby made with pg_basebackup, on loopback ports — through real ansible-playbook. A writer commits
a row every 50 ms at production until the disaster. The drill's RTO and RPO are checked against the
truth the test takes on its own from the servers: DR's own timestamp of the drill's proving write (and
the first moment a poller finds DR out of recovery: the drill must not claim recovery before it), and
the newest production row DR holds, both against T0 from the drill's journal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbtruth import Truth, check_rehearsal, drill_under_traffic, run_drill, wait_until
from sshd import free_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "reference" / "postgres-failover.yaml"
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/lib/postgresql/15/bin"))
CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
wal_level = replica
wal_log_hints = on
max_wal_senders = 5
hot_standby = on
fsync = off
"""


def as_postgres() -> list[str]:
    """Server tools refuse root: run them as the postgres user when the tests run as root (CI)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Cluster:
    """A primary and a streaming standby in a temporary directory the postgres user owns."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="bcdrill-pg-"))
        self.base.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self.ports = {"primary": free_port(), "standby": free_port()}
        self.data = {name: self.base / name for name in self.ports}

    def setup(self) -> None:
        """Make, start and connect the servers (stop() cleans up after a failure here too)."""
        self.server(
            ["initdb", "-D", str(self.data["primary"]), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        )
        self.configure("primary")
        self.start("primary")
        self.sql(
            "primary",
            "create table drill_writes (id serial primary key, site text not null default"
            " 'production', at timestamptz not null default clock_timestamp())",
        )
        self.server(
            [
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.ports["primary"]),
                "-U",
                "postgres",
                "-D",
                str(self.data["standby"]),
                "-R",
                "-X",
                "stream",
            ]
        )
        self.configure("standby")
        self.start("standby")

    def server(self, argv: list[str]) -> None:
        subprocess.run(
            [*as_postgres(), str(PG_BIN / argv[0]), *argv[1:]],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.base,
        )

    def configure(self, name: str) -> None:
        conf = self.data[name] / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as fh:
            fh.write(CONF.format(port=self.ports[name], sockets=self.base))

    def start(self, name: str) -> None:
        self.server(
            ["pg_ctl", "start", "-D", str(self.data[name]), "-w", "-l", str(self.base / f"{name}.log")]
        )

    def sql(self, name: str, query: str) -> str:
        done = subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.ports[name]),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                query,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout.strip()

    def inventory(self, path: Path) -> Path:
        run_as = " ".join(as_postgres())
        hosts = "\n".join(
            f"[pg_{'primary' if name == 'primary' else 'standby'}]\n"
            f"pg-{name} pg_port={port} pg_data={self.data[name]} pg_log={self.base / name}.log\n"
            for name, port in self.ports.items()
        )
        path.write_text(
            hosts + "[all:vars]\nansible_connection=local\n"
            f"ansible_python_interpreter={sys.executable}\npg_host=127.0.0.1\npg_bin={PG_BIN}\n"
            f"pg_run_as='{run_as}'\n",
            encoding="utf-8",
        )
        return path

    def stop(self) -> None:
        for name in self.data:
            subprocess.run(
                [
                    *as_postgres(),
                    str(PG_BIN / "pg_ctl"),
                    "stop",
                    "-D",
                    str(self.data[name]),
                    "-m",
                    "immediate",
                ],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required in CI: apt-get install postgresql")
        pytest.skip("PostgreSQL is not installed")
    made = Cluster()
    try:
        made.setup()
        yield made
    finally:
        made.stop()


def test_failover_promote_rewind_and_the_rto_rpo_match_the_servers(cluster: Cluster, tmp_path: Path) -> None:
    variables = {"dr_host": "127.0.0.1", "dr_port": str(cluster.ports["standby"]), "pg_bin": str(PG_BIN)}
    inventory = cluster.inventory(tmp_path / "databases.ini")
    # a --dry-run rehearsal first: replication is checked for real, and nothing changes
    rehearsal = run_drill(SCENARIO, tmp_path / "dry-run", inventory, variables, dry_run=True)
    check_rehearsal(
        rehearsal,
        "Read pg_stat_replication on the primary",
        "Every standby streams within the lag limit",
        "stop-production",
        "Stop the primary (fast)",
    )
    assert cluster.sql("standby", "select pg_is_in_recovery()") == "t"
    assert cluster.sql("primary", "select count(*) from pg_stat_replication where state = 'streaming'") == "1"
    assert cluster.sql("primary", "select count(*) from drill_writes") == "0"

    drill, promoted = drill_under_traffic(
        SCENARIO,
        tmp_path / "run",
        inventory,
        variables,
        write=lambda: cluster.sql("primary", "insert into drill_writes default values"),
        promoted=lambda: cluster.sql("standby", "select pg_is_in_recovery()") == "f",
    )

    core = drill.system("core-db")
    newest = float(
        cluster.sql(
            "standby", "select extract(epoch from max(at)) from drill_writes where site = 'production'"
        )
    )
    assert cluster.sql("standby", "select count(*) from drill_writes where site = 'dr'") == "1"
    dr_write = float(
        cluster.sql("standby", "select extract(epoch from at) from drill_writes where site = 'dr'")
    )
    truth = Truth(t0=drill.t0, promoted=promoted, dr_write=dr_write, newest=newest)
    print(f"postgres: {truth.compare(core)}")
    truth.check(core)

    # the old primary streams from the new one after pg_rewind
    assert cluster.sql("primary", "select pg_is_in_recovery()") == "t"
    assert cluster.sql("standby", "select count(*) from pg_stat_replication where state = 'streaming'") == "1"
    wait_until(
        lambda: cluster.sql("primary", "select count(*) from drill_writes where site = 'dr'") == "1",
        "the DR write never reached the re-attached old primary",
    )
