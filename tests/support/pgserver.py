"""A throwaway PostgreSQL server from Debian's binaries, for tests and benchmarks.

PostgreSQL refuses to run as root, so under root the cluster belongs to the
`postgres` system user that Debian's package creates.
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _binary_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found; install Debian's postgresql package")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TemporaryPostgres:
    def __init__(self, database: str = "canteen") -> None:
        self.database = database
        self.bin = _binary_dir()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="canteen-pg-"))
        self.data = self.root / "data"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://canteen@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, cwd=self.root)

    def start(self) -> "TemporaryPostgres":
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "canteen", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self._start_server()
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "canteen",
                  self.database)
        return self

    def _start_server(self) -> None:
        # Durability is pointless for a throwaway cluster; skipping fsync keeps the suite fast.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "start")

    def sql(self, statement: str) -> str:
        """One statement through psql as the superuser; its result rows, unaligned."""
        completed = subprocess.run([*self._as_user, str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                                    "-U", "canteen", "-d", self.database, "-XAtq", "-v", "ON_ERROR_STOP=1",
                                    "-c", statement], check=True, capture_output=True, text=True, cwd=self.root)
        return completed.stdout.strip()

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run([*self._as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                            "stop"], capture_output=True, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "TemporaryPostgres":
        try:
            return self.start()
        except BaseException:  # half started: whatever runs is stopped, the folder removed
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


REPLICATION_USER = "replicator"


class TemporaryReplica(TemporaryPostgres):
    """A hot standby of a running TemporaryPostgres, streaming its WAL: a base backup taken with
    `pg_basebackup -R` (which writes the standby's connection settings) started on a port of its own.

    Starting it gives the primary a replication user and the pg_hba entry that lets it in from loopback."""

    def __init__(self, primary: TemporaryPostgres) -> None:
        super().__init__(primary.database)
        self.primary = primary

    def start(self) -> "TemporaryReplica":
        primary = self.primary
        if not primary.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{REPLICATION_USER}'"):
            primary.sql(f"CREATE ROLE {REPLICATION_USER} WITH REPLICATION LOGIN")
            with open(primary.data / "pg_hba.conf", "a") as hba:  # explicit, should initdb's trust-everyone lines be tightened
                hba.write(f"\nhost replication {REPLICATION_USER} 127.0.0.1/32 trust\n")
            primary.sql("SELECT pg_reload_conf()")
        self._run(str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", REPLICATION_USER,
                  "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self._start_server()
        return self

    def caught_up(self) -> bool:
        """Whether the replica has replayed everything the primary had written when asked."""
        target = self.primary.sql("SELECT pg_current_wal_insert_lsn()")  # commits are asynchronous
        return self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t"
