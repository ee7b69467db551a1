"""Engine set-up and Alembic migrations, on both SQLite and PostgreSQL."""
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, IntegrityError

from canteen import db
from canteen.errors import InvalidInput
from canteen.models import metadata
from canteen.weighing import partitions
from tests import test_cli

empty_database_url = test_cli.empty_database_url  # the fixture: a database with no tables, on each backend


@pytest.fixture
def empty_engine(empty_database_url: str) -> Iterator[Engine]:
    """An engine on a database with no tables at all, on the same backend as database_url."""
    engine = db.make_engine(empty_database_url)
    yield engine
    engine.dispose()


def test_migrations_match_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": partitions.schema_filter(connection.dialect.name)})
        assert compare_metadata(context, metadata) == []


def test_migrating_twice_is_a_no_op(engine):
    db.upgrade(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO canteen (bureau_id, name, operating_mode, serving_mode, timezone) "
            "VALUES (424242, 'orphan', 'self-run', 'buffet', 'Asia/Shanghai')"))


def test_server_is_the_expected_kind(engine):
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        else:
            assert connection.dialect.server_version_info >= (15,)


def test_fresh_sqlite_file_is_created_with_its_folder(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'nested' / 'fresh.db'}")
    db.upgrade(engine)
    assert (tmp_path / "nested" / "fresh.db").exists()
    with engine.connect() as connection:
        assert "canteen" in [row[0] for row in connection.execute(text("SELECT name FROM sqlite_master"))]


@pytest.mark.parametrize("url", ["not a url", "mysql://localhost/x", "oracle+cx://x"])
def test_unsupported_database_urls_are_refused(url):
    with pytest.raises(InvalidInput) as error:
        db.make_engine(url)
    assert error.value.field == "database_url"


# ---- where the schema stands (what `canteen serve` and /healthz check) ------------------------------------------


def test_a_migrated_database_is_at_the_head(engine):
    state = db.schema_state(engine)
    assert (state.state, state.current, state.ok) == ("current", state.head, True)
    with engine.connect() as connection:
        assert state.head == MigrationContext.configure(connection).get_current_revision()


def test_an_empty_database_is_behind_with_no_revision(empty_engine):
    state = db.schema_state(empty_engine)
    assert (state.state, state.current, state.ok) == ("behind", None, False)
    assert state.head == db.schema_state(empty_engine).head != ""


def test_a_database_at_the_first_migration_is_behind(empty_engine):
    db.upgrade(empty_engine, "0001")
    state = db.schema_state(empty_engine)
    assert (state.state, state.current, state.ok) == ("behind", "0001", False)
    db.upgrade(empty_engine)
    assert db.schema_state(empty_engine).ok


def test_a_revision_these_migrations_do_not_know_is_unknown(empty_engine):
    with empty_engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    state = db.schema_state(empty_engine)
    assert (state.state, state.current, state.ok) == ("unknown", "9999_from_the_future", False)


def test_a_file_that_is_not_a_database_raises_a_database_error(tmp_path):
    (tmp_path / "noise.db").write_bytes(bytes(range(256)) * 16)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'noise.db'}")
    with pytest.raises(DatabaseError):
        db.schema_state(engine)
    engine.dispose()


@pytest.mark.parametrize("url", ["postgresql+psycopg://x@127.0.0.1:port/db", "sqlite://:x/"])
def test_a_port_that_is_not_a_number_is_refused(url):
    with pytest.raises(InvalidInput) as error:
        db.make_engine(url)
    assert error.value.field == "database_url"
