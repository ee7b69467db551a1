from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import QueryableAttribute
from sqlmodel import Session, SQLModel, create_engine, text

from canteen.errors import InvalidInput

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _enable_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput("database URL {url!r} is not a valid URL", field="database_url", url=url) from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _enable_sqlite_pragmas)
        elif parsed.get_backend_name() == "postgresql":
            engine = create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
        else:
            raise InvalidInput(
                "database URL must start with sqlite:// or postgresql+psycopg://", field="database_url"
            )
    except NoSuchModuleError:
        raise InvalidInput(
            "database URL must start with sqlite:// or postgresql+psycopg://", field="database_url"
        ) from None
    return engine


@lru_cache(maxsize=8)
def shared_engine(url: str) -> Engine:
    """One engine per database URL, for code that is handed only the URL (scheduled jobs)."""
    return make_engine(url)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, its `__table__`, which SQLModel's type stubs do not declare."""
    return cast(Table, inspect(model).local_table)


def orm_attribute(field: object) -> QueryableAttribute[Any]:
    """A table model's field, read off the class, as the ORM attribute it is there: what loader options such as
    `defer` take, where SQLModel's types have the field's value."""
    if not isinstance(field, QueryableAttribute):
        raise TypeError(f"not a mapped attribute: {field!r}")
    return field


@contextmanager
def planned_with_real_indexes(session: Session) -> Iterator[None]:
    """SQLite without automatic indexes for the statements inside (other databases as they are).

    For a join on a table of VALUES, SQLite's planner prefers building a temporary index over the whole other
    table, on every execution, to the index that table already has; switched off, it uses the real one.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA automatic_index = OFF")
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA automatic_index = ON")


def check_database(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


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
