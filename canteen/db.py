from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Integer, Table, bindparam, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import QueryableAttribute
from sqlmodel import Session, SQLModel, col, create_engine

from canteen.errors import InvalidInput

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _enable_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_query_only(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA query_only=ON")


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """The engine for a database URL; `read_only` makes every transaction on it read-only (a write fails), for the
    replica engine: what is meant for the replica cannot write even when its URL names the primary."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise InvalidInput("database URL {url!r} is not a valid URL", field="database_url", url=url) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _enable_sqlite_pragmas)
            if read_only:
                event.listen(engine, "connect", _sqlite_query_only)
        elif parsed.get_backend_name() == "postgresql":
            connect_args = {"options": "-c default_transaction_read_only=on"} if read_only else {}
            engine = create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20,
                                   connect_args=connect_args)
        else:
            raise InvalidInput(
                "database URL must start with sqlite:// or postgresql+psycopg://", field="database_url"
            )
    except NoSuchModuleError:
        raise InvalidInput(
            "database URL must start with sqlite:// or postgresql+psycopg://", field="database_url"
        ) from None
    return engine


def read_engine(replica_url: str, primary: Engine) -> Engine:
    """The engine read-heavy pages query: a read-only one on the replica when a replica URL is set, else the
    primary's own (one pool, as without a replica)."""
    return make_engine(replica_url, read_only=True) if replica_url else primary


@lru_cache(maxsize=8)
def shared_engine(url: str) -> Engine:
    """One engine per database URL, for code that is handed only the URL (scheduled jobs)."""
    return make_engine(url)


def alembic_config(engine: Engine | None = None) -> Config:
    """The migrations' configuration; without an engine, enough to read the revision graph."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, its `__table__`, which SQLModel's type stubs do not declare."""
    return cast(Table, inspect(model).local_table)


def among(column: Any, ids: Sequence[int]) -> Any:
    """`column IN (ids)` with the ids written into the statement (as integers) rather than bound one by one:
    converting 5,000 parameters costs PostgreSQL's driver more than the grouped query takes."""
    return col(column).in_(bindparam("ids", list(ids), type_=Integer(), expanding=True, literal_execute=True,
                                     unique=True))


def orm_attribute(field: object) -> QueryableAttribute[Any]:
    """A table model's field, read off the class, as the ORM attribute it is there: what loader options such as
    `defer` take, where SQLModel's types have the field's value."""
    if not isinstance(field, QueryableAttribute):
        raise TypeError(f"not a mapped attribute: {field!r}")
    return field


def write_transaction(session: Session, key: str | None = None) -> None:
    """Make the session's transaction a write transaction from here on, so that what it reads next stays true
    until it commits: a check and the insert it allows become one step.

    On SQLite, `SELECT … FOR UPDATE` is a no-op and the driver opens a transaction only at the first write, so
    reads would run outside any lock; `BEGIN IMMEDIATE` takes the database's write lock now (waiting up to
    busy_timeout for another writer). A transaction that has written already holds that lock. On PostgreSQL
    callers lock the rows their check depends on; where there is no row to lock, `key` names what the check is
    about and a transaction-scoped advisory lock on it serialises the transactions that name the same key.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        if key is not None:
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
        return
    driver = connection.connection.dbapi_connection
    if driver is not None and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against the migrations this code ships.

    state is "current" (at the head), "behind" (older, or no schema at all: current is None) or "unknown" (a
    revision these migrations do not know: a newer canteen's, or another application's table).
    """

    state: str
    head: str
    current: str | None

    @property
    def ok(self) -> bool:
        return self.state == "current"


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def schema_state(engine: Engine) -> SchemaState:
    """The schema's revision against the head (one query on alembic_version); raises SQLAlchemyError when the
    database cannot be reached or is not a database."""
    scripts = _scripts()
    head = ",".join(sorted(scripts.get_heads()))
    with engine.connect() as connection:
        current_heads = MigrationContext.configure(connection).get_current_heads()
    current = ",".join(sorted(current_heads)) or None
    if current == head:
        return SchemaState("current", head, current)
    known = all(_known_revision(scripts, revision) for revision in current_heads)
    return SchemaState("behind" if known else "unknown", head, current)


def _known_revision(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:  # alembic's word for a revision id its scripts do not have
        return False


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
