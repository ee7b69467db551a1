"""Salvage: every row that can still be read from a damaged outbox, into a fresh one beside it.

The damaged file is never changed or deleted: it is copied (with its WAL) into a scratch folder, the copy is
read, and the file itself (with its WAL, shared-memory and state files) is renamed aside to
`<outbox>.damaged-<UTC time>`. Reading the copy:

- a file shorter than its header says is read as far as it goes;
- a header that is not SQLite's any more is rebuilt in the copy (the page size found by trying the usual
  ones; the schema page and the tables' pages after it are left as they are);
- each table is read by ranges of its key: a range whose pages cannot be read is halved until the pages
  that fail are isolated, so one bad page costs only the rows on it (a budget of queries bounds the work when
  nearly everything fails);
- a row whose values are not what the outbox writes (no time, no whole grams, text with NUL bytes in it, as
  a page cut short leaves it) is left out and counted.

The fresh outbox numbers new events after the highest number seen anywhere: in the salvaged rows, the
damaged file's sequence table, its state file and the clock, so that no number the server may already hold
is used again. The salvaged events keep their own numbers; the server takes a (station, seq) once only, so
sending again one it already had counts nothing twice.
"""
import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from canteen.scale_driver.outbox import (
    COLUMNS,
    SQLITE_MAGIC,
    Examination,
    Item,
    Outbox,
    RejectedItem,
    examine,
    state_path,
)
from canteen.scale_driver.segmenter import State

PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)
QUERY_BUDGET = 20_000
SIDE_FILES = ("", "-wal", "-shm")
KEY_RANGE = (-(2**63), 2**63 - 1)
T = TypeVar("T")


class NothingToSalvage(ValueError):
    """The path is not a damaged outbox (a sound one, a directory, another program's file)."""


@dataclass(frozen=True)
class Salvaged:
    """What could be read from a damaged outbox."""

    events: list[Item]
    rejected: list[RejectedItem]
    state: State | None
    next_seq: int  # 0: the sequence table could not be read
    unreadable: int  # ranges of pages and rows that could not be read
    header_rebuilt: bool


@dataclass(frozen=True)
class SalvageReport:
    path: Path
    kept_aside: list[Path]
    salvaged: Salvaged
    expected_waiting: int | None  # what the state file said was waiting, if there was one
    next_seq: int

    def lines(self) -> list[str]:
        found = self.salvaged
        lines = [f"salvaged {len(found.events)} waiting and {len(found.rejected)} rejected events into a fresh "
                 f"outbox {self.path}; new events are numbered from {self.next_seq}"]
        if self.expected_waiting is not None:
            lost = max(0, self.expected_waiting - len(found.events))
            lines.append(f"its state file said {self.expected_waiting} events were waiting"
                         + (f": {lost} could not be read and are lost" if lost else ""))
        if found.header_rebuilt:
            lines.append("the file's SQLite header was damaged and was rebuilt to read it")
        if found.unreadable:
            lines.append(f"{found.unreadable} damaged stretches of rows could not be read")
        lines.extend(f"kept aside: {path}" for path in self.kept_aside)
        lines.append("the gateway may be started again; it sends the salvaged events (the server keeps each once)")
        return lines


def salvage(path: Path, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> SalvageReport:
    """Reads what it can of the damaged outbox at `path` into a fresh one there; the gateway must be stopped.

    Raises NothingToSalvage when `path` is a sound outbox, absent with no state file, or not an outbox."""
    examination = examine(path)
    if examination.ok:
        raise NothingToSalvage(f"the outbox {path} is sound ({examination.queued or 0} events waiting): "
                               "there is nothing to salvage" if not examination.new
                               else f"there is no outbox at {path}: there is nothing to salvage")
    if not examination.salvageable:
        raise NothingToSalvage(f"{path} {examination.problem}: it is not an outbox this command may replace")
    scratch = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.salvage-"))
    try:
        salvaged = _read_copy(path, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    kept_aside = _set_aside(path, now().strftime("%Y%m%dT%H%M%SZ"))
    next_seq = _next_seq(examination, salvaged)
    outbox = Outbox(path, first_seq=next_seq)
    try:
        outbox.restore(salvaged.events, salvaged.rejected, salvaged.state, next_seq)
    finally:
        outbox.close()
    expected = examination.marker.queued if examination.marker else None
    return SalvageReport(path, kept_aside, salvaged, expected, next_seq)


def _next_seq(examination: Examination, salvaged: Salvaged) -> int:
    seen = [item.seq + 1 for item in salvaged.events] + [one.item.seq + 1 for one in salvaged.rejected]
    marker = examination.marker.next_seq if examination.marker else 0
    return max([salvaged.next_seq, marker, time.time_ns() // 1000, *seen])


def _set_aside(path: Path, stamp: str) -> list[Path]:
    """Renames the damaged outbox and its companions to <outbox>.damaged-<stamp>…; returns the new names."""
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    moved = []
    for suffix in SIDE_FILES:
        source = path.with_name(path.name + suffix)
        if source.exists():
            target = aside.with_name(aside.name + suffix)
            source.rename(target)
            moved.append(target)
    marker = state_path(path)
    if marker.exists():
        target = state_path(aside)
        marker.rename(target)
        moved.append(target)
    return moved


def _read_copy(path: Path, scratch: Path) -> Salvaged:
    copy = scratch / "copy.sqlite3"
    empty = Salvaged([], [], None, 0, 0, False)
    if not path.is_file() or path.stat().st_size == 0:
        return empty
    shutil.copyfile(path, copy)
    wal = path.with_name(path.name + "-wal")
    if wal.is_file():
        shutil.copyfile(wal, scratch / "copy.sqlite3-wal")
    rebuilt = False
    if not _schema_readable(copy):
        rebuilt = _rebuild_header(copy, has_wal=wal.is_file())
        if not rebuilt:
            return empty
    with closing(_reader(copy)) as db:
        return _read_tables(db, rebuilt)


def _reader(copy: Path) -> sqlite3.Connection:
    """A connection to the copy that reads a truncated file too: with `writable_schema` SQLite takes the file's
    own length for the number of pages instead of refusing a file shorter than its header says."""
    db = sqlite3.connect(copy, isolation_level=None)
    db.execute("PRAGMA writable_schema = ON")
    db.execute("PRAGMA query_only = ON")
    return db


def _schema_readable(copy: Path) -> bool:
    try:
        with closing(_reader(copy)) as db:
            db.execute("SELECT name, rootpage FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError:
        return False
    return True


def _header(page_size: int, pages: int, wal: bool) -> bytes:
    """A plain SQLite header for a file of `pages` pages (no free list, no auto-vacuum: enough to read it)."""
    version = 2 if wal else 1  # 2: the WAL copied beside it is read too
    major, minor, patch = sqlite3.sqlite_version_info
    header = b"".join([
        SQLITE_MAGIC,
        (1 if page_size == 65536 else page_size).to_bytes(2, "big"),
        bytes([version, version, 0, 64, 32, 32]),  # file format versions, reserved bytes, payload fractions
        (1).to_bytes(4, "big"),  # change counter
        pages.to_bytes(4, "big"),
        bytes(8),  # no free-list pages
        (1).to_bytes(4, "big"),  # schema cookie
        (4).to_bytes(4, "big"),  # schema format
        bytes(8),  # default cache size, no auto-vacuum root
        (1).to_bytes(4, "big"),  # UTF-8
        bytes(32),  # user version, incremental vacuum, application id, reserved
        (1).to_bytes(4, "big"),  # the page count is valid for change counter 1
        (major * 1_000_000 + minor * 1000 + patch).to_bytes(4, "big"),
    ])
    assert len(header) == 100
    return header


def _rebuild_header(copy: Path, *, has_wal: bool) -> bool:
    """Writes a new header into the copy, trying page sizes until the schema reads; False if none does."""
    size = copy.stat().st_size
    with copy.open("rb") as stream:
        original = stream.read(100)
    for page_size in PAGE_SIZES:
        if size < page_size or size % page_size:
            continue
        with copy.open("r+b") as stream:
            stream.write(_header(page_size, size // page_size, has_wal))
        if _schema_readable(copy):
            return True
    with copy.open("r+b") as stream:
        stream.write(original)
    return False


def _read_tables(db: sqlite3.Connection, rebuilt: bool) -> Salvaged:
    events, bad_events = _table_rows(db, "event", COLUMNS, _event)
    rejected, bad_rejected = _table_rows(db, "rejected", f"{COLUMNS}, field, reason, rejected_at", _rejected)
    state = _one(db, "SELECT value FROM state WHERE name = 'segmenter'", _state)
    next_seq = _one(db, "SELECT next FROM sequence WHERE id = 1", lambda value: value if type(value) is int else None)
    return Salvaged(events, rejected, state, next_seq or 0, bad_events + bad_rejected, rebuilt)


def _table_rows(db: sqlite3.Connection, table: str, columns: str,
                   parse: Callable[[tuple[Any, ...]], T | None]) -> tuple[list[T], int]:
    """Every readable, well-formed row of the table, in key order, and the count of what could not be read."""
    rows, unreadable = _readable_rows(db, f"SELECT {columns} FROM {table} WHERE seq BETWEEN ? AND ? ORDER BY seq")
    parsed = [parse(row) for row in rows]
    good = [row for row in parsed if row is not None]
    return good, unreadable + len(parsed) - len(good)


def _readable_rows(db: sqlite3.Connection, query: str) -> tuple[list[tuple[Any, ...]], int]:
    """Runs the range query over the whole key range, halving the ranges that fail; returns rows and failures."""
    ranges = [KEY_RANGE]
    rows: list[tuple[Any, ...]] = []
    failed: list[tuple[int, int]] = []
    queries = 0
    while ranges:
        low, high = ranges.pop()
        queries += 1
        try:
            rows.extend(db.execute(query, (low, high)).fetchall())
        except sqlite3.DatabaseError:
            if low == high or queries >= QUERY_BUDGET:
                failed.append((low, high))
                continue
            middle = (low + high) // 2
            ranges += [(middle + 1, high), (low, middle)]
    return sorted(rows, key=lambda row: row[0]), _stretches(failed)


def _stretches(ranges: list[tuple[int, int]]) -> int:
    """How many unbroken stretches of keys the failed ranges make up."""
    stretches, end = 0, None
    for low, high in sorted(ranges):
        if end is None or low > end + 1:
            stretches += 1
        end = high if end is None else max(end, high)
    return stretches


def _event(row: tuple[Any, ...]) -> Item | None:
    seq, measured_at, grams, diner_ref, category = row
    try:
        at = datetime.fromisoformat(measured_at)
    except (TypeError, ValueError):
        return None
    if type(seq) is not int or type(grams) is not int or at.tzinfo is None:
        return None
    if not all(value is None or (isinstance(value, str) and "\x00" not in value) for value in (diner_ref, category)):
        return None  # the outbox never writes NUL: such text was zeroed by the damage (a page cut short)
    return Item(seq, at, grams, diner_ref, category)


def _rejected(row: tuple[Any, ...]) -> RejectedItem | None:
    item = _event(row[:5])
    field, reason, rejected_at = row[5:]
    try:
        at = datetime.fromisoformat(rejected_at)
    except (TypeError, ValueError):
        return None
    if item is None or not isinstance(reason, str) or not (field is None or isinstance(field, str)):
        return None
    return RejectedItem(item, field, reason, at)


def _state(value: Any) -> State | None:
    try:
        state = json.loads(value)
    except (TypeError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _one(db: sqlite3.Connection, query: str, parse: Callable[[Any], T | None]) -> T | None:
    try:
        row = db.execute(query).fetchone()
    except sqlite3.DatabaseError:
        return None
    return parse(row[0]) if row else None
