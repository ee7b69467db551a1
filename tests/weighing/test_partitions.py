"""Plate weighings partitioned by month on PostgreSQL (SQLite: one plain table): where rows land, the (station,
seq) key across partitions, the job that creates partitions ahead, migration 0011 both ways, backup/restore."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from canteen import backup, db
from canteen.jobs import service as jobs
from canteen.org.models import Station
from canteen.weighing import partitions, service
from canteen.weighing.models import ItemStatus, PlateWeighing
from tests.support.database import insert_first_canteen
from tests.test_backup import fresh_url  # noqa: F401  (a fixture)
from tests.test_cli import empty_database_url  # noqa: F401  (a fixture)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai


def postgres_only(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("plate weighings are partitioned on PostgreSQL only")


def post(session, org, items: list[tuple[int, datetime]], now: datetime = NOW) -> list[ItemStatus]:
    station = session.get(Station, org.stations["a"])
    result = service.ingest(session, station, [{"seq": seq, "measured_at": at.isoformat(), "grams": 20}
                                               for seq, at in items], now)
    session.commit()
    return [item.status for item in result.results]


def landed(session) -> list[tuple[int, str]]:
    return [tuple(row) for row in session.execute(text(
        "SELECT seq, tableoid::regclass::text FROM plateweighing ORDER BY seq"))]


def test_rows_land_in_their_service_months_partition(engine, org):
    postgres_only(engine)
    with Session(engine) as session:
        partitions.ensure_partitions(session.connection(), [date(2026, 11, 1), date(2026, 12, 1)])
        session.commit()
        # 23:30 on 30 November in Shanghai is 15:30 UTC: the local date decides the month.
        assert post(session, org, [(1, datetime(2026, 11, 20, 4, 0, tzinfo=UTC)),
                                   (2, datetime(2026, 11, 30, 15, 30, tzinfo=UTC)),
                                   (3, datetime(2026, 12, 1, 4, 0, tzinfo=UTC))]) == [ItemStatus.accepted] * 3
        assert landed(session) == [(1, "plateweighing_y2026m11"), (2, "plateweighing_y2026m11"),
                                   (3, "plateweighing_y2026m12")]


def test_a_replay_in_another_month_is_a_duplicate(session, org):
    if session.connection().dialect.name == "postgresql":
        partitions.ensure_partitions(session.connection(), [date(2026, 11, 1), date(2026, 12, 1)])
        session.commit()
    november, december = datetime(2026, 11, 20, 4, 0, tzinfo=UTC), datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    assert post(session, org, [(7, november)]) == [ItemStatus.accepted]
    assert post(session, org, [(7, december), (8, december)]) == [ItemStatus.duplicate, ItemStatus.accepted]
    assert session.exec(select(PlateWeighing.seq, PlateWeighing.service_date).order_by(PlateWeighing.seq)).all() == [
        (7, date(2026, 11, 20)), (8, date(2026, 12, 1))]


def test_a_month_without_partition_lands_in_the_default_and_the_job_moves_it(engine, org):
    postgres_only(engine)
    later = datetime(2031, 5, 15, 8, 0, tzinfo=UTC)
    with Session(engine) as session:
        assert post(session, org, [(1, later - timedelta(hours=4))], now=later) == [ItemStatus.accepted]
        assert landed(session) == [(1, "plateweighing_default")]
    clock = lambda: later  # noqa: E731
    result = jobs.run(engine, "plate-partitions", clock)
    # The oldest day ingest accepts is 15 April (a day earlier for time zones); three months past May.
    months = ["y2031m04", "y2031m05", "y2031m06", "y2031m07", "y2031m08"]
    assert result == "5 plate weighing partitions created: " + ", ".join(f"plateweighing_{m}" for m in months)
    assert jobs.run(engine, "plate-partitions", clock) == "0 plate weighing partitions created"
    with Session(engine) as session:
        assert landed(session) == [(1, "plateweighing_y2031m05")]
        there = partitions.partitions(session.connection())
        assert {month: there[month] for month in there if month.year == 2031} == {
            date(2031, month, 1): f"plateweighing_y2031m{month:02d}" for month in range(4, 9)}
        # The moved plate is still the station's seq 1.
        assert post(session, org, [(1, later)], now=later) == [ItemStatus.duplicate]


def test_the_job_is_a_no_op_on_sqlite(engine, clock):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert jobs.run(engine, "plate-partitions", clock) == "plate weighings are not partitioned on this database"


PLATE = ("INSERT INTO plateweighing (station_id, seq, canteen_id, measured_at, service_date, meal, grams, "
         "received_at) VALUES (1, :seq, 1, :at, :day, 'lunch', :grams, :at)")


def test_migration_0011_converts_a_populated_table_and_downgrades(empty_database_url):  # noqa: F811
    engine = db.make_engine(empty_database_url)
    try:
        db.upgrade(engine, "0010")
        with engine.begin() as connection:
            insert_first_canteen(connection)
            connection.execute(text(
                "INSERT INTO station (canteen_id, name, kind, protocol, baudrate, bytesize, parity, stopbits, "
                "capacity_g, key_hash, key_prefix, active) "
                "VALUES (1, 'S', 'plate-return', 'ascii-st-gs', 9600, 8, 'N', 1, 5000, 'x', 'x', true)"))
            for seq, day, grams in ((1, "2025-03-10", 11), (2, "2025-03-31", 22), (3, "2025-06-01", 33)):
                connection.execute(text(PLATE), {"seq": seq, "at": f"{day} 04:00:00+00:00", "day": day,
                                                 "grams": grams})
        rows = "SELECT id, seq, CAST(service_date AS TEXT), grams FROM plateweighing ORDER BY id"
        with engine.connect() as connection:
            before = connection.execute(text(rows)).all()
        assert [row[1:] for row in before] == [(1, "2025-03-10", 11), (2, "2025-03-31", 22), (3, "2025-06-01", 33)]

        db.upgrade(engine)
        with engine.begin() as connection:
            assert connection.execute(text(rows)).all() == before
            if connection.dialect.name == "postgresql":
                assert connection.execute(text("SELECT seq, tableoid::regclass::text FROM plateweighing "
                                               "ORDER BY seq")).all() == [
                    (1, "plateweighing_y2025m03"), (2, "plateweighing_y2025m03"), (3, "plateweighing_y2025m06")]
                assert connection.execute(text("SELECT station_id, seq FROM plateweighingkey ORDER BY seq")).all() \
                    == [(1, 1), (1, 2), (1, 3)]
                assert date(2025, 4, 1) not in partitions.partitions(connection)  # no rows, no partition
            # The id sequence goes on after the moved rows.
            connection.execute(text(PLATE), {"seq": 4, "at": "2025-06-02 04:00:00+00:00", "day": "2025-06-02",
                                             "grams": 44})
            assert connection.execute(text("SELECT max(id) FROM plateweighing")).scalar() == before[-1][0] + 1
            assert connection.execute(text("SELECT count(*) FROM archivedmonth")).scalar() == 0

        from alembic import command
        command.downgrade(db.alembic_config(engine), "0010")
        with engine.begin() as connection:
            assert [row[1] for row in connection.execute(text(rows))] == [1, 2, 3, 4]
            if connection.dialect.name == "postgresql":
                assert connection.execute(text(
                    "SELECT relkind FROM pg_class WHERE relname = 'plateweighing'")).scalar() == "r"
                assert connection.execute(text(
                    "SELECT count(*) FROM pg_class WHERE relname LIKE 'plateweighing%' AND relkind = 'r'")).scalar() \
                    == 1
        with pytest.raises(IntegrityError), engine.begin() as connection:  # (station, seq) unique again
            connection.execute(text(PLATE), {"seq": 4, "at": "2025-06-03 04:00:00+00:00", "day": "2025-06-03",
                                             "grams": 1})
        with engine.begin() as connection:
            connection.execute(text(PLATE), {"seq": 5, "at": "2025-06-03 04:00:00+00:00", "day": "2025-06-03",
                                             "grams": 55})
            # After the id of seq 4 (PostgreSQL's failed insert above took one more from the sequence).
            assert connection.execute(text("SELECT max(id) FROM plateweighing")).scalar() > before[-1][0] + 1
        db.upgrade(engine)  # and up again, from the downgraded table
        with engine.connect() as connection:
            assert [row[1] for row in connection.execute(text(rows))] == [1, 2, 3, 4, 5]
    finally:
        engine.dispose()


def test_a_partitioned_database_backs_up_and_restores(database_url, engine, org, fresh_url, tmp_path):  # noqa: F811
    postgres_only(engine)
    with Session(engine) as session:
        partitions.ensure_partitions(session.connection(), [date(2026, 11, 1), date(2026, 12, 1)])
        session.commit()
        post(session, org, [(1, datetime(2026, 11, 20, 4, 0, tzinfo=UTC)), (2, datetime(2026, 12, 1, 4, 0, tzinfo=UTC))])
        expected = landed(session)
    file = tmp_path / "canteen.backup"
    backup.backup(database_url, file)
    target = fresh_url()
    backup.restore(target, file)
    restored = create_engine(target)
    try:
        with Session(restored) as session:
            assert landed(session) == expected == [(1, "plateweighing_y2026m11"), (2, "plateweighing_y2026m12")]
            assert post(session, org, [(2, datetime(2026, 11, 21, 4, 0, tzinfo=UTC)),
                                       (3, datetime(2026, 12, 1, 5, 0, tzinfo=UTC))]) == [
                ItemStatus.duplicate, ItemStatus.accepted]
    finally:
        restored.dispose()
