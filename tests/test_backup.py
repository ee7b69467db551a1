"""`canteen db backup FILE` and `canteen db restore FILE`, on SQLite and PostgreSQL."""
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from canteen import backup as backup_module
from canteen import cli, db
from canteen.db import SchemaState

FreshUrl = Callable[[], str]


def canteen(database_url: str, *args: str) -> Result:
    environment = {"CANTEEN_DATABASE_URL": database_url, "CANTEEN_LANGUAGE": "en", "CANTEEN_SECRET_KEY": "test"}
    return CliRunner().invoke(cli.app, list(args), env=environment)


def succeeded(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    return result.stdout


def refused(result: Result, expected: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0], lines[0]
    return lines[0]


def contents(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order, as the database has them (its tables reflected, not the models')."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        with engine.connect() as connection:
            return {name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
                    for name, table in metadata.tables.items()}
    finally:
        engine.dispose()


def schema(url: str) -> SchemaState:
    engine = db.make_engine(url)
    try:
        return db.schema_state(engine)
    finally:
        engine.dispose()


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[FreshUrl]:
    """Makes databases with no tables at all, on the same backend (for PostgreSQL, on the same server)."""
    made: list[str] = []

    def make() -> str:
        name = f"fresh_{uuid.uuid4().hex}"
        made.append(name)
        if database_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / name}.db"
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(database_url).set(database=name).render_as_string(hide_password=False)

    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    yield make
    if not database_url.startswith("sqlite"):
        with server.connect() as connection:
            for name in made:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def test_a_backup_restored_into_an_empty_database_has_every_row(database_url, org, fresh_url, tmp_path):
    backup = tmp_path / "canteen.backup"
    assert "Backed up" in succeeded(canteen(database_url, "db", "backup", str(backup)))
    assert list(tmp_path.iterdir()) == [backup]  # no temporary file left beside it
    if database_url.startswith("sqlite"):  # one self-contained file: rollback journal, not WAL (header bytes 18-19)
        assert backup.read_bytes()[18:20] == b"\x01\x01"

    target = fresh_url()
    assert "Restored" in succeeded(canteen(target, "db", "restore", str(backup)))

    original, restored = contents(database_url), contents(target)
    assert restored == original
    # The org fixture's 5 bureaus, 3 canteens, 3 stations and 6 accounts, and the calendar the migrations seed.
    assert [len(restored[name]) for name in ("bureau", "canteen", "station", "user")] == [5, 3, 3, 6]
    assert restored["officialday"] and restored["alembic_version"]
    assert schema(target).ok
    # Ids go on after the restored ones (PostgreSQL's sequences come back with the rows).
    assert "bureau 6:" in succeeded(canteen(target, "org", "add-bureau", "--name", "Later"))


def test_restore_refuses_a_database_with_tables_unless_forced(database_url, org, fresh_url, tmp_path):
    backup = tmp_path / "canteen.backup"
    succeeded(canteen(database_url, "db", "backup", str(backup)))
    target = fresh_url()
    succeeded(canteen(target, "db", "upgrade"))
    succeeded(canteen(target, "org", "add-bureau", "--name", "Kept unless forced"))
    before = contents(target)

    refused(canteen(target, "db", "restore", str(backup)), "--force")
    assert contents(target) == before

    succeeded(canteen(target, "db", "restore", str(backup), "--force"))
    assert contents(target) == contents(database_url)


def other_kind(database_url: str, path: Path) -> None:
    """A backup of the other kind of database (only its first bytes matter)."""
    path.write_bytes((b"PGDMP\x01\x0e" if database_url.startswith("sqlite") else b"SQLite format 3\x00") * 64)


def another_sqlite_database(_database_url: str, path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    connection.close()


@pytest.mark.parametrize("write", [
    lambda _url, path: path.write_text("not a backup\n"),
    other_kind,
    another_sqlite_database,
], ids=["text", "other-kind", "other-sqlite-database"])
def test_restore_refuses_a_file_that_is_not_a_canteen_backup(database_url, fresh_url, tmp_path, write):
    path = tmp_path / "file"
    write(database_url, path)
    target = fresh_url()

    refused(canteen(target, "db", "restore", str(path)), "not a")
    assert contents(target) == {}


def test_restore_of_a_missing_file_is_refused(database_url, fresh_url, tmp_path):
    refused(canteen(fresh_url(), "db", "restore", str(tmp_path / "missing")), "does not exist")


def test_a_failed_backup_keeps_the_file_it_would_have_replaced(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        missing = f"sqlite:///{tmp_path / 'missing.db'}"
    else:
        missing = make_url(database_url).set(database="missing").render_as_string(hide_password=False)
    backup = tmp_path / "canteen.backup"
    backup.write_bytes(b"yesterday's backup")

    refused(canteen(missing, "db", "backup", str(backup)), "missing")
    assert backup.read_bytes() == b"yesterday's backup"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["canteen.backup"]


def test_a_backup_of_an_older_schema_is_restored_and_asks_for_an_upgrade(fresh_url, tmp_path):
    old = fresh_url()
    engine = db.make_engine(old)
    try:
        db.upgrade(engine, "0001")
    finally:
        engine.dispose()
    backup = tmp_path / "old.backup"
    succeeded(canteen(old, "db", "backup", str(backup)))
    target = fresh_url()

    refused(canteen(target, "db", "restore", str(backup)), "canteen db upgrade")
    assert schema(target).current == "0001"
    succeeded(canteen(target, "db", "upgrade"))
    assert schema(target).ok


def test_the_password_reaches_pg_dump_through_the_environment_only(database_url, org, tmp_path, monkeypatch):
    if database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL matter")
    calls: list[tuple[list[str], dict[str, str]]] = []
    run = subprocess.run

    def recording(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        calls.append((command, options["env"]))
        return run(command, **options)

    monkeypatch.setattr(backup_module.subprocess, "run", recording)
    with_password = make_url(database_url).set(password="pa55/word").render_as_string(hide_password=False)
    succeeded(canteen(with_password, "db", "backup", str(tmp_path / "canteen.backup")))

    [(command, environment)] = calls
    assert not any("pa55" in argument for argument in command)
    assert environment["PGPASSWORD"] == "pa55/word"
