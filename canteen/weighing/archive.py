"""`canteen db archive --before 2024-01`: whole months of plate weighings exported to files and dropped.

Each month before the given one goes to `plateweighing-YYYY-MM.csv.gz` (a header line, then one line per plate
in id order; timestamps in UTC, ISO 8601) with its sha256 in `plateweighing-YYYY-MM.csv.gz.sha256`, in the
format `sha256sum -c` reads. Both are written to temporary files beside their names and renamed into place;
the file is then read back (checksum, and every line decompressed and counted) before the month leaves the
database: on PostgreSQL its partition is detached and dropped (stray rows of the month in the DEFAULT partition
deleted), on SQLite its rows are deleted; the plates' (station, seq) keys go with them. The month is recorded in
`archivedmonth` in the same transaction, so a rerun skips it, and its daily rollups (and the scorecards made
of them) stay: a later recompute keeps their plate figures (canteen/weighing/service.py).

Only months ingest can no longer add to are archived: it accepts plates up to 30 days old.
"""
import csv
import gzip
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, TypeVar, cast

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col
from sqlmodel import select as model_select

from canteen import bounds
from canteen.bounds import add_months
from canteen.db import table_of, write_transaction
from canteen.errors import Conflict, InvalidInput
from canteen.weighing import partitions
from canteen.weighing.models import PLATE_KEY_TABLE, ArchivedMonth, PlateWeighing
from canteen.weighing.service import MAX_AGE

COLUMNS = ("id", "station_id", "seq", "canteen_id", "measured_at", "service_date", "meal", "grams", "diner_ref",
           "received_at")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_CHUNK = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Archived:
    month: date
    plates: int
    file: str
    sha256: str
    skipped: bool = False  # archived by an earlier run


def parse_month(value: str) -> date:
    """`2024-01` -> 2024-01-01."""
    try:
        return bounds.parse_month(value.strip(), field="before")
    except InvalidInput:
        raise InvalidInput("{value!r} is not a month such as 2024-01", field="before", value=value) from None


def check_before(before: date, now: datetime) -> None:
    """Refuse a `--before` whose previous month is not over, or may still get plates from ingest."""
    if before > partitions.month_of(now.date()):
        raise InvalidInput("{month} is not over yet", field="before",
                           month=f"{add_months(before, -1):%Y-%m}")
    # A day of margin for the canteens' time zones and the plates a late dinner gets after midnight.
    if before > (now - MAX_AGE - timedelta(days=1)).date():
        raise InvalidInput("{month} is within the 30 days ingest still accepts plates for; archive it later",
                           field="before", month=f"{add_months(before, -1):%Y-%m}")


def archive(engine: Engine, before: date, folder: Path, now: datetime) -> list[Archived]:
    """Archive every month before `before` that has plates (on PostgreSQL: or a partition), oldest first."""
    check_before(before, now)
    folder.mkdir(parents=True, exist_ok=True)
    with Session(engine) as session:
        done = {row.month: row for row in session.exec(
            model_select(ArchivedMonth).where(col(ArchivedMonth.month) < before))}
        months = _months_with_plates(session.connection(), before)
    results = [Archived(month, row.plates, row.file, row.sha256, skipped=True) for month, row in done.items()]
    for month in sorted(months - done.keys()):
        with Session(engine) as session:
            results.append(_archive_month(session, month, folder, now))
            session.commit()
    return sorted(results, key=lambda result: result.month)


def _months_with_plates(connection: Connection, before: date) -> set[date]:
    if partitions.partitioned(connection):
        months = {month for month in partitions.partitions(connection) if month < before}
        strays = connection.exec_driver_sql(
            f"SELECT DISTINCT date_trunc('month', service_date)::date FROM {partitions.DEFAULT_PARTITION} "
            "WHERE service_date < %s", (before,))
        return months | set(strays.scalars())
    firsts = connection.execute(text(  # SQLite keeps dates as ISO text
        "SELECT DISTINCT substr(service_date, 1, 7) FROM plateweighing WHERE service_date < :before"),
        {"before": before.isoformat()})
    return {date.fromisoformat(f"{first}-01") for first in firsts.scalars().all()}  # type: ignore[var-annotated]


def _archive_month(session: Session, month: date, folder: Path, now: datetime) -> Archived:
    write_transaction(session)  # SQLite: nothing writes between the export and the delete
    connection = session.connection()
    start, end = month, add_months(month, 1)
    name = f"plateweighing-{month:%Y-%m}.csv.gz"
    table = table_of(PlateWeighing)
    rows = connection.execute(
        select(*(table.c[column] for column in COLUMNS))
        .where(table.c.service_date >= start, table.c.service_date < end).order_by(table.c.id)
        .execution_options(stream_results=True, yield_per=_CHUNK))
    digest, plates = _write_atomically(folder / name, lambda out: _export(rows, out))
    _write_atomically(folder / f"{name}.sha256", lambda out: out.write(f"{digest}  {name}\n".encode()))
    verify(folder / name)
    _drop_month(connection, start, end, plates)
    session.add(ArchivedMonth(month=month, plates=plates, file=name, sha256=digest, archived_at=now))
    return Archived(month, plates, name, digest)


def _export(rows, out: IO[bytes]) -> int:
    """The rows as gzipped CSV (no name or time in the gzip header: the same rows give the same bytes)."""
    count = 0
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as compressed, \
            io.TextIOWrapper(compressed, encoding="utf-8", newline="") as textfile:
        writer = csv.writer(textfile)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["" if value is None else _text(value) for value in row])
            count += 1
    return count


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class _Hashing(io.RawIOBase):
    """A binary file that hashes what goes through it."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.hash = file, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.hash.update(data)
        return self.file.write(data)


def _write_atomically(path: Path, write: Callable[[IO[bytes]], T]) -> tuple[str, T]:
    """Write to a temporary file beside `path`, flush it to disk and rename it into place; returns the
    content's sha256 and what `write` returned."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            hashing = _Hashing(file)
            result = write(cast(IO[bytes], hashing))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return hashing.hash.hexdigest(), result


def verify(path: Path) -> int:
    """Check an archive file against its sidecar checksum and read it through; returns its plates."""
    expected = path.with_name(f"{path.name}.sha256").read_text(encoding="utf-8").split()[0]
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise Conflict("{file} does not match its checksum", field="file", file=str(path))
    with gzip.open(path, "rt", encoding="utf-8", newline="") as textfile:
        lines = sum(1 for _ in csv.reader(textfile))
    return lines - 1


def _drop_month(connection: Connection, start: date, end: date, exported: int) -> None:
    table = table_of(PlateWeighing)
    in_month = (table.c.service_date >= start, table.c.service_date < end)
    if connection.execute(select(func.count()).where(*in_month)).scalar_one() != exported:
        raise Conflict("plates of {month} changed while it was exported; run the archive again", field="before",
                       month=f"{start:%Y-%m}")
    if partitions.partitioned(connection):
        connection.exec_driver_sql(
            f"DELETE FROM {PLATE_KEY_TABLE} AS k USING {partitions.PARENT} AS p "
            "WHERE p.service_date >= %s AND p.service_date < %s AND k.station_id = p.station_id AND k.seq = p.seq",
            (start, end))
        partition = partitions.partitions(connection).get(start)
        if partition is not None:
            connection.exec_driver_sql(f"ALTER TABLE {partitions.PARENT} DETACH PARTITION {partition}")
            connection.exec_driver_sql(f"DROP TABLE {partition}")
    connection.execute(delete(table).where(*in_month))  # PostgreSQL: strays in the DEFAULT partition
