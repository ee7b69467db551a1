"""Monthly partitions of plate weighings on PostgreSQL; SQLite keeps one plain table and none of this applies.

The partition key is `service_date`, not `measured_at`: rollups, dashboards, scorecards and the archive all
select plates by service date (a canteen's local date, the one a late dinner plate after midnight keeps), so
their queries prune to one month's partition, and an archived month is exactly one partition. Partitioned by
the UTC instant, a local month would straddle two partitions and every day-range query would have to be
translated to instants first.

Partitions are created ahead by the `plate-partitions` job (from the oldest month ingest still accepts to
three months ahead). A DEFAULT partition catches a row whose month has none yet (the job not having run for
months), so an accepted weighing always lands; the job later moves such rows into the month's own partition.
That is safer than creating partitions inside ingest, which would take a lock on the parent table in the
middle of the lunch peak and race between workers.
"""
import re
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Connection
from sqlmodel import Session

from canteen.bounds import add_months
from canteen.weighing.models import PLATE_KEY_TABLE
from canteen.weighing.service import MAX_AGE

PARENT = "plateweighing"
DEFAULT_PARTITION = "plateweighing_default"
MONTHS_AHEAD = 3
_BOUND = re.compile(r"FOR VALUES FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)")


def partitioned(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def month_of(day: date) -> date:
    return day.replace(day=1)


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month:%Y}m{month:%m}"


def partitions(connection: Connection) -> dict[date, str]:
    """The month partitions there are (month's first day -> table name), from the catalogue's bounds."""
    rows = connection.exec_driver_sql(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass", (PARENT,))
    months: dict[date, str] = {}
    for name, bound in rows:
        match = _BOUND.fullmatch(str(bound))
        if match is not None:  # the DEFAULT partition has no bounds
            months[date.fromisoformat(match[1])] = str(name)
    return months


def create_partition(connection: Connection, month: date) -> str:
    """The month's partition, taking over the month's rows the DEFAULT partition holds (PostgreSQL refuses to
    create a partition whose rows sit in the default one). Not idempotent: see `ensure_partitions`."""
    name, start, end = partition_name(month), month, add_months(month, 1)
    bounds = f"FOR VALUES FROM ('{start}') TO ('{end}')"
    strays = connection.exec_driver_sql(
        f"SELECT EXISTS (SELECT FROM {DEFAULT_PARTITION} WHERE service_date >= %s AND service_date < %s)",
        (start, end)).scalar()
    if not strays:
        connection.exec_driver_sql(f"CREATE TABLE {name} PARTITION OF {PARENT} {bounds}")
        return name
    connection.exec_driver_sql(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    connection.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE service_date >= %s AND service_date < %s "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved", (start, end))
    connection.exec_driver_sql(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} {bounds}")
    return name


def ensure_partitions(connection: Connection, months: list[date]) -> list[str]:
    """Create the partitions of these months that are missing; returns the names created (none: a no-op)."""
    if not partitioned(connection):
        return []
    there = partitions(connection)
    return [create_partition(connection, month) for month in sorted(set(months)) if month not in there]


def months_ahead(now: datetime) -> list[date]:
    """From the month of the oldest weighing ingest still accepts (a day early, for the canteens' time zones)
    to MONTHS_AHEAD months past this one."""
    month, last = month_of((now - MAX_AGE - timedelta(days=1)).date()), add_months(month_of(now.date()), MONTHS_AHEAD)
    months = []
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def create_ahead(session: Session, now: datetime) -> str:
    """The `plate-partitions` job: idempotent, and a no-op on SQLite."""
    connection = session.connection()
    if not partitioned(connection):
        return "plate weighings are not partitioned on this database"
    created = ensure_partitions(connection, months_ahead(now))
    return f"{len(created)} plate weighing partitions created" + (f": {', '.join(created)}" if created else "")


def backfill_keys(connection: Connection) -> None:
    """Keys for plates loaded without ingest (the demo's bulk load), so a replay of one is still a duplicate."""
    if partitioned(connection):
        connection.exec_driver_sql(f"INSERT INTO {PLATE_KEY_TABLE} (station_id, seq) SELECT station_id, seq "
                                   f"FROM {PARENT} ON CONFLICT DO NOTHING")


def schema_filter(dialect: str):
    """An alembic `include_object` hook: on PostgreSQL, what the migrations make of plate weighings that the
    models, which describe SQLite's plain table, do not say (partitions, the key table, the constraint that
    moved there)."""
    def include(obj, name, type_, reflected, compare_to) -> bool:
        if dialect != "postgresql":
            return True
        if type_ == "table":
            return not (name == PLATE_KEY_TABLE or (name or "").startswith(f"{PARENT}_"))
        if type_ == "unique_constraint" and getattr(getattr(obj, "table", None), "name", None) == PARENT:
            return False
        return True
    return include
