"""Engine set-up and Alembic migrations, on both SQLite and PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from canteen import db
from canteen.errors import InvalidInput
from canteen.models import metadata


def test_migrations_match_the_models(engine):
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


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
