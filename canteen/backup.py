"""Backing up the whole database to a file, and restoring such a file into an empty database.

SQLite goes through sqlite3's online backup API, which copies a consistent snapshot while the server keeps
running; PostgreSQL through pg_dump's custom format and pg_restore. A backup is written to a temporary file
beside its destination and renamed into place, so an interrupted backup never leaves a truncated file under the
name of a good one. A restore refuses a file that is not a canteen backup for this kind of database, and a
target that already has tables unless forced; it ends by checking the schema is at this code's head.
"""
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from canteen import db
from canteen.db import SchemaState
from canteen.errors import Conflict, InvalidInput

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
VERSION_TABLE = "alembic_version"


def backup(url: str, file: Path) -> None:
    """Write a backup of the database at `url` to `file`, replacing what was there."""
    parsed = _backend_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = _sqlite_path(parsed)
        if not source.is_file():
            raise InvalidInput("the database file {path} does not exist", field="database", path=str(source))
        _write_atomically(file, lambda temporary: _sqlite_backup(source, temporary))
    else:
        _write_atomically(file, lambda temporary: _pg_run(
            "pg_dump", parsed, "--format=custom", f"--file={temporary}"))


def restore(url: str, file: Path, force: bool = False) -> SchemaState:
    """Restore the backup in `file` into the database at `url`, which must have no tables unless `force` (then
    whatever the backup holds replaces what is there). Raises Conflict when the restored schema is not at this
    code's head (the data is restored then: an older backup only needs `canteen db upgrade`)."""
    parsed = _backend_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if not file.is_file():
        raise InvalidInput("the backup file {path} does not exist", field="file", path=str(file))
    if sqlite:
        target = _sqlite_path(parsed)
        _check_sqlite_backup(file)
    else:
        _check_pg_backup(file)
    engine = db.make_engine(url)
    try:
        if not force and inspect(engine).get_table_names():
            raise Conflict("{url} already has tables; restore into an empty database, or add --force to replace "
                           "its contents with the backup's", field="database",
                           url=engine.url.render_as_string(hide_password=True))
        engine.dispose()  # no connection of ours may hold a lock while the restore writes
        if sqlite:
            _sqlite_restore(file, target)
        else:
            if force:
                _drop_partitioned_tables(engine)
            _pg_run("pg_restore", parsed, "--clean", "--if-exists", "--no-owner", "--exit-on-error",
                    "--single-transaction", str(file))
        state = db.schema_state(engine)
    finally:
        engine.dispose()
    _require_head(state)
    return state


def _drop_partitioned_tables(engine) -> None:
    """pg_restore --clean fails on a partitioned table (it drops each partition's share of the parent's primary
    key, which PostgreSQL refuses), so those are dropped with their partitions first; the backup recreates them."""
    with engine.begin() as connection:
        names = connection.exec_driver_sql("SELECT relname FROM pg_class WHERE relkind = 'p' "
                                           "AND relnamespace = 'public'::regnamespace").scalars().all()
        for name in names:
            connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    engine.dispose()


def _backend_url(url: str) -> URL:
    db.make_engine(url).dispose()  # the same validation (and the same errors) as everywhere else
    return make_url(url)


def _require_head(state: SchemaState) -> None:
    if state.state == "behind":
        raise Conflict("the backup is restored, but its schema is at revision {current}, behind this version's "
                       "{head}; run `canteen db upgrade`", field="database", current=state.current or "-",
                       head=state.head)
    if state.state == "unknown":
        raise Conflict("the backup is restored, but its schema is at revision {current}, which this version does "
                       "not know (its newest is {head}): a newer canteen wrote it", field="database",
                       current=state.current, head=state.head)


def _write_atomically(file: Path, write: Callable[[Path], None]) -> None:
    file = file.absolute()
    if file.is_dir():
        raise InvalidInput("{path} is a directory", field="file", path=str(file))
    handle, name = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.replace(temporary, file)
    finally:
        temporary.unlink(missing_ok=True)


# ---- SQLite ------------------------------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise InvalidInput("only an SQLite database in a file can be backed up or restored", field="database")
    return Path(url.database)


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)


def _sqlite_backup(source: Path, target: Path) -> None:
    try:
        with closing(_read_only(source)) as reading, closing(sqlite3.connect(target)) as writing:
            reading.backup(writing)
            # A copy of a WAL database is in WAL mode too; a backup is better one self-contained file.
            writing.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as error:
        raise Conflict("cannot back up the database: {cause}", field="database", cause=str(error)) from None


def _check_sqlite_backup(file: Path) -> None:
    """An SQLite database holding canteen's revision table: anything else is not a backup to restore."""
    with file.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise InvalidInput("{path} is not an SQLite backup", field="file", path=str(file))
    try:
        with closing(_read_only(file)) as connection:
            revisions = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    except sqlite3.Error:  # no such table, or a damaged file
        revisions = []
    if not revisions:
        raise InvalidInput("{path} is an SQLite database but not a canteen backup", field="file", path=str(file))


def _sqlite_restore(file: Path, target: Path) -> None:
    """Through the backup API into the target's own connection, which also resets its WAL (renaming a file over
    a database in WAL mode would leave its old -wal file to be replayed onto the new one)."""
    try:
        with closing(_read_only(file)) as reading, closing(sqlite3.connect(target)) as writing:
            reading.backup(writing)
    except sqlite3.Error as error:
        raise Conflict("cannot restore the database: {cause}", field="database", cause=str(error)) from None


# ---- PostgreSQL --------------------------------------------------------------------------------------------------


def _check_pg_backup(file: Path) -> None:
    with file.open("rb") as handle:
        if handle.read(len(PGDUMP_MAGIC)) != PGDUMP_MAGIC:
            raise InvalidInput("{path} is not a pg_dump backup in custom format", field="file", path=str(file))
    contents = _run([str(_pg_program("pg_restore")), "--list", str(file)], {})
    if not any(" TABLE DATA " in line and f" {VERSION_TABLE} " in line for line in contents.splitlines()):
        raise InvalidInput("{path} is a pg_dump backup but not a canteen backup", field="file", path=str(file))


def _pg_program(name: str) -> Path:
    """The newest PostgreSQL's program (pg_dump cannot dump a server newer than itself), else the one on PATH."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda path: int(path.split("/")[4]))
    if candidates:
        return Path(candidates[-1])
    found = shutil.which(name)
    if found is None:
        raise Conflict("{program} not found; install PostgreSQL's client programs (Debian: postgresql-client)",
                       field="database", program=name)
    return Path(found)


def _pg_run(name: str, url: URL, *args: str) -> None:
    """Run pg_dump or pg_restore on the database: the password through PGPASSWORD, never on the command line."""
    connection = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                            database=url.database, query=url.query).render_as_string(hide_password=False)
    environment = {"PGPASSWORD": url.password} if url.password is not None else {}
    _run([str(_pg_program(name)), f"--dbname={connection}", *args], environment)


def _run(command: list[str], environment: dict[str, str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **environment})
    if result.returncode != 0:
        reason = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
        raise Conflict("{program} failed: {cause}", field="database", program=Path(command[0]).name,
                       cause=reason)
    return result.stdout

