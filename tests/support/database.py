"""Emptying the tests' database between tests: every table but the official calendar, which is put back as the
migration seeded it when a test imported or deleted years."""
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, delete, select

from canteen.calendar import service as calendar_service
from canteen.calendar.models import CalendarYear, OfficialDay
from canteen.models import metadata

CALENDAR_TABLES = ("officialday", "calendaryear")
BIG_TABLE = 10_000  # rows past which a table is truncated rather than deleted from


def restore_seeded_calendar(engine: Engine) -> None:
    with Session(engine) as session:
        sources = set(session.exec(select(CalendarYear.source)).all())
        years = set(session.exec(select(CalendarYear.year)).all())
        if sources == {calendar_service.LIBRARY_SOURCE} and years == calendar_service.library_calendar().years:
            return
        session.exec(delete(OfficialDay))
        session.exec(delete(CalendarYear))
        calendar_service.seed_from_library(session, datetime.now(UTC))
        session.commit()


def empty(engine: Engine) -> None:
    """Every table as the migrations leave it: no rows (ids restarting on PostgreSQL), the seeded calendar."""
    restore_seeded_calendar(engine)
    if engine.dialect.name == "postgresql":
        _empty_postgresql(engine)
        return
    tables = [table.name for table in reversed(metadata.sorted_tables) if table.name not in CALENDAR_TABLES]
    with engine.connect() as connection:
        # Checking every deleted row's references took minutes after a demo's year; SQLite empties a table at
        # once when no foreign key is checked. The pragma only changes outside a transaction.
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        connection.commit()  # SQLAlchemy began a transaction for the pragma (SQLite itself did not)
        try:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))
            connection.commit()
        finally:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            connection.commit()


def _empty_postgresql(engine: Engine) -> None:
    """Empty the tables that have rows and put every sequence back to 1, in one round trip.

    A test leaves rows in a handful of tables: TRUNCATE of all of them cost 0.2 s a test (each table's files
    replaced), a DELETE of the few a few milliseconds, with the foreign keys' triggers off for the transaction (the
    tests' server runs as its superuser) so no order is needed. A table holding more than BIG_TABLE rows (a demo's
    year) is truncated instead, with what references it: deleting millions of rows one by one takes minutes. The
    tables are the database's own, those only migrations make (the plate keys of partitioned weighings) included."""
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT relname FROM pg_class JOIN pg_namespace ON pg_namespace.oid = relnamespace"
            " WHERE nspname = 'public' AND relkind IN ('r', 'p') AND NOT relispartition"
            " AND relname <> 'alembic_version' AND relname <> ALL(:calendar)"),
            {"calendar": list(CALENDAR_TABLES)}).scalars().all()
        probe = " UNION ALL ".join(
            f"SELECT '{name}', EXISTS (SELECT 1 FROM \"{name}\" OFFSET {BIG_TABLE}) WHERE EXISTS (SELECT 1 FROM \"{name}\")"
            for name in tables)
        filled = connection.execute(text(probe)).all()
        big = [name for name, large in filled if large]
        statements = ["SET LOCAL session_replication_role = replica"]
        if big:
            statements.append("TRUNCATE " + ", ".join(f'"{name}"' for name in big) + " CASCADE")
        statements += [f'DELETE FROM "{name}"' for name, large in filled if not large]
        sequences = connection.execute(text(
            "SELECT sequence_schema || '.' || sequence_name FROM information_schema.sequences")).scalars().all()
        statements += [f"SELECT setval('{sequence}', 1, false)" for sequence in sequences]
        connection.exec_driver_sql("; ".join(statements))


def insert_first_canteen(connection: Connection) -> None:
    """Bureau 1 and its canteen 1 as plain SQL, for migration tests on a schema older than the models."""
    connection.execute(text("INSERT INTO bureau (name, level, path) VALUES ('B', 'province', '/1/')"))
    connection.execute(text("INSERT INTO canteen (bureau_id, name, operating_mode, serving_mode, timezone, "
                            "plate_waste_target_g, clean_plate_threshold_g) "
                            "VALUES (1, 'C', 'self-run', 'buffet', 'Asia/Shanghai', 50, 10)"))
