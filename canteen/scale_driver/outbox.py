"""The gateway's durable queue: events wait here, numbered, until the server has them.

SQLite in WAL mode with `synchronous=FULL`, so a committed append survives a crash or power cut. The next
sequence number lives in its own table and only ever grows, so a number is never reused, even after its
event was uploaded and deleted. A new outbox starts numbering at the current Unix time in microseconds
rather than at 1: the server drops a (station, seq) it has already seen as a duplicate, so an outbox that
was lost and re-created must not count again from numbers the server already holds.

The outbox never starts empty in place of one that held events. Beside the file a small state file,
`<outbox>.state` (JSON: the next sequence number and the events waiting and rejected, replaced atomically:
written to a temporary file, fsynced, renamed), says that the outbox was created before. Opening checks the
file (`examine`): its SQLite header and size, `PRAGMA quick_check`, the outbox's own tables and a sequence
number not behind the state file's. A file that is missing, empty, shorter than its header says, damaged,
not SQLite, another program's database or an older copy raises OutboxRefused, whose message names the
recovery command (`canteen-gateway outbox salvage`, outbox_salvage.py). The state file is only ever behind
the database (it is written after the commit), so a crash between the two never makes a sound outbox look
shrunk.

The file stays about as large as what waits in it: incremental auto-vacuum gives deleted pages back, the WAL
is checkpointed and truncated after every upload, and `journal_size_limit` caps what a checkpoint leaves.
Housekeeping that fails (a full disk) is skipped quietly: it is retried after the next upload.

Beside the segmenter's state, the `state` table keeps the pairing's (pairing.py: the scans and trays still
waiting) when the station has an identity reader; a scan paired with a waiting event is written into that event's
`diner_ref` in the same transaction.
"""
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from canteen.scale_driver.segmenter import Event, State

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS event (
    seq INTEGER PRIMARY KEY,
    measured_at TEXT NOT NULL,
    grams INTEGER NOT NULL,
    diner_ref TEXT,
    category TEXT
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    measured_at TEXT NOT NULL,
    grams INTEGER NOT NULL,
    diner_ref TEXT,
    category TEXT,
    field TEXT,
    reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sequence (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COLUMNS = "seq, measured_at, grams, diner_ref, category"
TABLES = {
    "event": ("seq", "measured_at", "grams", "diner_ref", "category"),
    "rejected": ("seq", "measured_at", "grams", "diner_ref", "category", "field", "reason", "rejected_at"),
    "sequence": ("id", "next"),
    "state": ("name", "value"),
}
SQLITE_MAGIC = b"SQLite format 3\x00"
STATE_FORMAT = 1
WAL_AUTOCHECKPOINT_PAGES = 100  # about 400 KB of WAL between automatic checkpoints
JOURNAL_SIZE_LIMIT = 512 * 1024  # what a checkpoint leaves of the WAL file at most


@dataclass(frozen=True)
class Item:
    seq: int
    measured_at: datetime
    grams: int
    diner_ref: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Rejection:
    seq: int
    field: str | None
    reason: str


@dataclass(frozen=True)
class RejectedItem:
    item: Item
    field: str | None
    reason: str
    rejected_at: datetime


def _item(row: tuple[int, str, int, str | None, str | None]) -> Item:
    seq, measured_at, grams, diner_ref, category = row
    return Item(seq, datetime.fromisoformat(measured_at), grams, diner_ref, category)


def state_path(path: Path) -> Path:
    """The state file beside an outbox: outbox.sqlite3 -> outbox.sqlite3.state."""
    return path.with_name(path.name + ".state")


@dataclass(frozen=True)
class Marker:
    """What the state file last said about its outbox."""

    next_seq: int
    queued: int
    rejected: int


def read_marker(path: Path) -> Marker | None:
    """The outbox's state file, None if there is none; raises ValueError if it cannot be read as one."""
    try:
        text = state_path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ValueError(str(error)) from None
    try:
        data: Any = json.loads(text)
        return Marker(int(data["next_seq"]), int(data["queued"]), int(data["rejected"]))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"not a state file ({error})") from None


def write_marker(path: Path, marker: Marker) -> None:
    """Replaces the state file atomically: a temporary file beside it, fsynced, renamed over it."""
    target = state_path(path)
    body = json.dumps({"format": STATE_FORMAT, "next_seq": marker.next_seq, "queued": marker.queued,
                       "rejected": marker.rejected, "written_at": datetime.now(UTC).isoformat()})
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(body)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every system (Windows); the rename itself is atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class OutboxRefused(Exception):
    """The outbox cannot be used as it is; the message says why and what to run."""


@dataclass(frozen=True)
class Examination:
    """What `examine` found. `problem` is None for a sound outbox or for a new one (`new`)."""

    path: Path
    problem: str | None = None
    new: bool = False
    salvageable: bool = False  # the recovery is `outbox salvage` (else: point --outbox elsewhere)
    queued: int | None = None
    rejected: int | None = None
    next_seq: int | None = None
    marker: Marker | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def refusal(self) -> str:
        """One line for the gateway's refusal to start: what is wrong and what to run."""
        if self.salvageable:
            remedy = (f"stop the gateway and run `canteen-gateway outbox salvage --outbox {self.path}` "
                      "to recover what can be read into a fresh outbox")
        else:
            remedy = "give --outbox the gateway's outbox file or a path where a new one may be created"
        return f"the outbox {self.path} {self.problem}; {remedy}"


def _header_problem(path: Path, size: int) -> str | None:
    """What is wrong with the file's first 100 bytes or its length, None if nothing is."""
    with path.open("rb") as stream:
        header = stream.read(100)
    if len(header) < 100 or header[:16] != SQLITE_MAGIC:
        return f"is not an SQLite database ({size} bytes, its header is damaged or it is another kind of file)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[92:96] == header[24:28]  # the page count is valid for the change counter it was written at
    if page_size < 512 or page_size & (page_size - 1):
        return "has a damaged header (its page size is not a power of two)"
    if valid and size < pages * page_size:
        return f"is shorter than its header says ({size} bytes, {pages * page_size} expected): it was truncated"
    return None


def _schema_problem(db: sqlite3.Connection) -> str | None:
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table, columns in TABLES.items():
        found = tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))
        if found != columns:
            return f"is an SQLite database but not a gateway outbox (tables: {', '.join(sorted(tables)) or 'none'})"
    return None


def _blank(db: sqlite3.Connection) -> bool:
    count: int = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return count == 0


def examine(path: Path | str) -> Examination:
    """Checks an outbox file without changing it (see the module's docstring)."""
    path = Path(path)
    try:
        marker = read_marker(path)
    except ValueError as error:
        log.warning("the outbox's state file %s cannot be read (%s); checking the outbox without it",
                    state_path(path), error)
        marker = Marker(0, 0, 0)
    said = f": its state file says {marker.queued} events were waiting" if marker and marker.queued else ""
    if path.is_dir():
        return Examination(path, "is a directory", marker=marker)
    if not path.exists():
        if marker is None:
            return Examination(path, new=True)
        return Examination(path, f"is missing{said}", salvageable=True, marker=marker)
    size = path.stat().st_size
    if size == 0:
        if marker is None:  # created and never written (a crash before the first commit, or `touch`)
            return Examination(path, new=True)
        return Examination(path, f"is empty (0 bytes){said}", salvageable=True, marker=marker)
    try:
        problem = _header_problem(path, size)
    except OSError as error:
        return Examination(path, f"cannot be read ({error.strerror or error})", marker=marker)
    if problem is not None:
        return Examination(path, problem + said, salvageable=marker is not None, marker=marker)
    return _examine_database(path, marker, said)


def _examine_database(path: Path, marker: Marker | None, said: str) -> Examination:
    try:
        # Read-only; without a WAL there is nothing but the file to read, and `immutable` leaves no -wal/-shm behind.
        wal = path.with_name(path.name + "-wal").exists()
        uri = f"{path.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            db.execute("PRAGMA busy_timeout = 10000")
            result = [line for (text,) in db.execute("PRAGMA quick_check(3)") for line in str(text).splitlines()
                      if not line.startswith("***")]  # "*** in database main ***" heads the findings
            if result != ["ok"]:
                return Examination(path, f"is damaged ({'; '.join(result)}){said}", salvageable=True,
                                   marker=marker)
            if _blank(db) and marker is None:
                return Examination(path, new=True)
            problem = _schema_problem(db)
            if problem is not None:
                return Examination(path, problem + said, salvageable=marker is not None, marker=marker)
            queued, rejected, next_seq = (db.execute(query).fetchone()[0] for query in (
                "SELECT count(*) FROM event", "SELECT count(*) FROM rejected",
                "SELECT coalesce(max(next), 0) FROM sequence"))
    except sqlite3.Error as error:
        return Examination(path, f"is damaged ({error}){said}", salvageable=True, marker=marker)
    if marker is not None and next_seq < marker.next_seq:
        return Examination(path, f"is older than its state file (next event {next_seq}, the state file says "
                                 f"{marker.next_seq}){said}: it was replaced by an older copy", salvageable=True,
                           marker=marker, queued=queued, rejected=rejected, next_seq=next_seq)
    return Examination(path, queued=queued, rejected=rejected, next_seq=next_seq, marker=marker)


class Outbox:
    """Safe to share between threads: one connection, one lock.

    Raises OutboxRefused if the file is not a sound outbox (see `examine`), or cannot be opened.
    """

    def __init__(self, path: Path | str, first_seq: int | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        examination = examine(self.path)
        if not examination.ok:
            raise OutboxRefused(examination.refusal())
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise OutboxRefused(f"the outbox {self.path} cannot be opened ({error})") from None
        self._marker_failed_at: float | None = None
        try:
            self._initialise(first_seq)
        except sqlite3.Error as error:
            self._db.close()
            raise OutboxRefused(f"the outbox {self.path} cannot be opened ({error})") from None
        self._write_marker()

    def _initialise(self, first_seq: int | None) -> None:
        self._db.execute("PRAGMA busy_timeout = 10000")
        if _blank(self._db):
            self._db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # must precede the first table
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        self._db.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        with self._transaction():
            for statement in SCHEMA.split(";"):
                self._db.execute(statement)
            start = time.time_ns() // 1000 if first_seq is None else first_seq
            self._db.execute("INSERT OR IGNORE INTO sequence (id, next) VALUES (1, ?)", (start,))
        if self._db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # an outbox from before incremental vacuum
            try:
                self._db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                self._db.execute("VACUUM")
            except sqlite3.OperationalError as error:
                log.warning("the outbox %s could not be compacted (%s); it will be tried at the next start",
                            self.path, error)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
                    self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _write_marker(self) -> None:
        """Brings the state file up to date; a failure (a full disk) is logged once a minute and retried later.

        The file only matters when it is behind the database, which it is whenever this fails."""
        with self._lock:
            marker = Marker(*(self._db.execute(query).fetchone()[0] for query in (
                "SELECT next FROM sequence WHERE id = 1", "SELECT count(*) FROM event",
                "SELECT count(*) FROM rejected")))
        try:
            write_marker(self.path, marker)
        except OSError as error:
            now = time.monotonic()
            if self._marker_failed_at is None or now - self._marker_failed_at >= 60:
                self._marker_failed_at = now
                log.warning("cannot update the outbox's state file %s: %s", state_path(self.path), error)
            return
        self._marker_failed_at = None

    def append(self, event: Event, *, diner_ref: str | None = None, category: str | None = None,
               state: State | None = None) -> int:
        """Store an event (and the segmenter state that goes with it) durably; returns its sequence number.

        Raises sqlite3.Error if it could not be stored (a full disk): then nothing of it was."""
        with self._transaction():
            seq: int = self._db.execute("SELECT next FROM sequence WHERE id = 1").fetchone()[0]
            self._db.execute("UPDATE sequence SET next = next + 1 WHERE id = 1")
            self._db.execute(f"INSERT INTO event ({COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                             (seq, event.measured_at.isoformat(), event.grams, diner_ref, category))
            if state is not None:
                self._save_state(state)
        self._write_marker()
        return seq

    def restore(self, items: Iterable[Item], rejected: Iterable[RejectedItem], state: State | None,
                next_seq: int) -> None:
        """Puts salvaged rows back with their own numbers, and numbers new events from `next_seq` on at least."""
        with self._transaction():
            self._db.executemany(f"INSERT OR REPLACE INTO event ({COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                                 [_row(item) for item in items])
            self._db.executemany(
                f"INSERT OR REPLACE INTO rejected ({COLUMNS}, field, reason, rejected_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*_row(one.item), one.field, one.reason, one.rejected_at.isoformat()) for one in rejected])
            self._db.execute("UPDATE sequence SET next = max(next, ?) WHERE id = 1", (next_seq,))
            if state is not None:
                self._save_state(state)
        self._write_marker()

    def save_state(self, state: State) -> None:
        with self._transaction():
            self._save_state(state)

    def _save_state(self, state: State | dict[str, Any], name: str = "segmenter") -> None:
        self._db.execute("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)",
                         (name, json.dumps(state, sort_keys=True)))

    def load_state(self) -> State | None:
        state: State | None = self._load("segmenter")
        return state

    def _load(self, name: str) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_pairing(self, state: dict[str, Any], codes: Iterable[tuple[int, str]] = ()) -> None:
        """Stores the pairing's state (pairing.py) and gives waiting events their scanned codes, all or nothing.

        Raises sqlite3.Error if it could not be stored (a full disk): then nothing of it was."""
        with self._transaction():
            self._db.executemany("UPDATE event SET diner_ref = ? WHERE seq = ?",
                                 [(code, seq) for seq, code in codes])
            self._save_state(state, "pairing")

    def load_pairing(self) -> dict[str, Any] | None:
        """The pairing's state as last stored, None if there is none."""
        state = self._load("pairing")
        return state if isinstance(state, dict) else None

    def pending(self, limit: int, through: int | None = None, after: int | None = None) -> list[Item]:
        """The oldest events still waiting, in sequence order; only those numbered up to `through` and after `after`,
        if given."""
        with self._lock:
            rows = self._db.execute(f"SELECT {COLUMNS} FROM event WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                                    (-1 if after is None else after, 2**63 - 1 if through is None else through,
                                     limit)).fetchall()
        return [_item(row) for row in rows]

    def remove(self, seqs: Iterable[int]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM event WHERE seq = ?", [(seq,) for seq in seqs])
        self._compact()

    def reject(self, rejections: Iterable[Rejection], at: datetime) -> None:
        """Move events the server refused into the `rejected` table, keeping the server's reason."""
        with self._transaction():
            for rejection in rejections:
                moved = self._db.execute(
                    f"INSERT OR REPLACE INTO rejected ({COLUMNS}, field, reason, rejected_at) "
                    f"SELECT {COLUMNS}, ?, ?, ? FROM event WHERE seq = ?",
                    (rejection.field, rejection.reason, at.isoformat(), rejection.seq))
                if moved.rowcount:
                    self._db.execute("DELETE FROM event WHERE seq = ?", (rejection.seq,))
        self._compact()

    def requeue(self, seqs: Iterable[int] | None = None) -> list[int]:
        """Moves rejected events (all, or those numbered `seqs`) back into the queue; returns their numbers.

        They keep their numbers: the server holds no row for a rejected event, and takes a number once only."""
        with self._transaction():
            if seqs is None:
                chosen = [seq for (seq,) in self._db.execute("SELECT seq FROM rejected ORDER BY seq")]
            else:
                wanted = sorted(set(seqs))
                chosen = [seq for seq in wanted
                          if self._db.execute("SELECT 1 FROM rejected WHERE seq = ?", (seq,)).fetchone()]
            for seq in chosen:
                self._db.execute(f"INSERT OR REPLACE INTO event ({COLUMNS}) SELECT {COLUMNS} FROM rejected "
                                 "WHERE seq = ?", (seq,))
                self._db.execute("DELETE FROM rejected WHERE seq = ?", (seq,))
        self._write_marker()
        return chosen

    def _compact(self) -> None:
        """Gives freed pages back and truncates the WAL, so the file stays as large as what waits in it."""
        try:
            with self._lock:
                self._db.execute("PRAGMA incremental_vacuum")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as error:
            log.debug("outbox housekeeping skipped: %s", error)
        self._write_marker()

    def rejected(self) -> list[RejectedItem]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS}, field, reason, rejected_at FROM rejected ORDER BY seq").fetchall()
        return [RejectedItem(_item(row[:5]), row[5], row[6], datetime.fromisoformat(row[7])) for row in rows]

    def depth(self) -> int:
        return self._count("SELECT count(*) FROM event")

    def rejected_count(self) -> int:
        return self._count("SELECT count(*) FROM rejected")

    def next_seq(self) -> int:
        return self._count("SELECT next FROM sequence WHERE id = 1")

    def _count(self, query: str) -> int:
        with self._lock:
            value: int = self._db.execute(query).fetchone()[0]
        return value

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _row(item: Item) -> tuple[int, str, int, str | None, str | None]:
    return item.seq, item.measured_at.isoformat(), item.grams, item.diner_ref, item.category
